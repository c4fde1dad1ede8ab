// @ts-check
/**
 * The agent console: signs in with a token, then shows the agent's call, the transfer targets and the
 * event feed, and transfers through the typed client (`/client/`, the compiled `src/client`).
 * Type-checked against the client's source by `tsc -p example-app/tsconfig.public.json`.
 */
import { createTransferClient, TransferClientError } from './client/index.js'

/** @typedef {import('./client/index.js').AttendedTransfer} AttendedTransfer */
/** @typedef {import('./client/index.js').AvailableAgentsResponse} Targets */
/** @typedef {import('./client/index.js').Call} Call */
/** @typedef {import('./client/index.js').FeedEventType} FeedEventType */
/** @typedef {import('./client/index.js').Transfer} Transfer */
/** @typedef {import('./client/index.js').TransferClient} TransferClient */
/** @typedef {{ extension: string, role: 'agent' | 'supervisor' }} Identity */
/** @typedef {'good' | 'bad' | 'pending'} Tone */

const LOG_LIMIT = 50
const TOKEN_KEY = 'agent-console-token'
/** @type {Record<Call['state'], string>} */
const CALL_STATES = { ringing: 'ringing', up: 'talking', on_hold: 'on hold', in_consultation: 'consulting (customer on hold)' }
/** Attended transfers in these states can be completed or cancelled. */
const CONSULTING = new Set(['initiated', 'consulting', 'target_answered', 'three_way'])
/** Attended transfers in these states can be completed: the target answered (and may be in a three-way). */
const ANSWERED = new Set(['target_answered', 'three_way'])
/** A transfer to me in these states is still on its way: my phone rings, or is about to. */
const INCOMING = new Set(['initiated', 'redirected', 'consulting'])
/** @type {FeedEventType[]} */
const TRANSFER_EVENTS = [
  'call:transfer_initiated', 'call:ami_transfer_complete', 'call:ami_transfer_failed', 'call:ami_attended_transfer_started',
  'call:ami_attended_transfer_completed', 'call:ami_attended_transfer_cancelled', 'call:transfer_swapped', 'call:transfer_three_way',
  'call:transfer_updated'
]

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId (id, type) {
  const element = document.getElementById(id)
  if (!(element instanceof type)) throw new Error(`the page has no #${id}`)
  return element
}

const ui = {
  signIn: byId('sign-in', HTMLElement),
  signInForm: byId('sign-in-form', HTMLFormElement),
  demoLogins: byId('demo-logins', HTMLDivElement),
  demoAgent: byId('demo-agent', HTMLSelectElement),
  token: byId('token', HTMLInputElement),
  signInError: byId('sign-in-error', HTMLParagraphElement),
  session: byId('session', HTMLDivElement),
  sessionExtension: byId('session-extension', HTMLElement),
  feedStatus: byId('feed-status', HTMLSpanElement),
  asteriskStatus: byId('asterisk-status', HTMLSpanElement),
  signOut: byId('sign-out', HTMLButtonElement),
  workspace: byId('workspace', HTMLDivElement),
  callTitle: byId('call-title', HTMLHeadingElement),
  calls: byId('calls', HTMLDivElement),
  targetList: byId('target-list', HTMLDivElement),
  blind: byId('blind-transfer', HTMLButtonElement),
  attended: byId('attended-transfer', HTMLButtonElement),
  refreshTargets: byId('refresh-targets', HTMLButtonElement),
  transferHint: byId('transfer-hint', HTMLParagraphElement),
  transferNote: byId('transfer-note', HTMLInputElement),
  incoming: byId('incoming', HTMLDivElement),
  incomingFrom: byId('incoming-from', HTMLElement),
  incomingCaller: byId('incoming-caller', HTMLElement),
  incomingNote: byId('incoming-note', HTMLElement),
  consultationCustomer: byId('consultation-customer', HTMLElement),
  consultationCustomerRole: byId('consultation-customer-role', HTMLElement),
  consultationTarget: byId('consultation-target', HTMLElement),
  consultationTargetRole: byId('consultation-target-role', HTMLElement),
  consultation: byId('consultation', HTMLDivElement),
  consultationText: byId('consultation-text', HTMLParagraphElement),
  complete: byId('complete-transfer', HTMLButtonElement),
  cancel: byId('cancel-transfer', HTMLButtonElement),
  swap: byId('swap-transfer', HTMLButtonElement),
  threeWay: byId('three-way-transfer', HTMLButtonElement),
  actionMessage: byId('action-message', HTMLParagraphElement),
  log: byId('event-log', HTMLOListElement)
}

/** What the page knows; every render reads it whole. */
const state = {
  /** @type {TransferClient | undefined} */
  client: undefined,
  /** @type {Identity | undefined} */
  me: undefined,
  /** @type {Call[]} */
  calls: [],
  /** Transfers by id, as last heard (answers and feed events). @type {Map<string, Transfer>} */
  transfers: new Map(),
  /** @type {Targets} */
  targets: { agents: [], destinations: [] },
  /** The handle of the attended transfer this page started, for Complete and Cancel. @type {AttendedTransfer | undefined} */
  handle: undefined,
  /** A transfer request is in flight: the buttons wait for its answer. */
  busy: false
}

// ---- rendering ----------------------------------------------------------------------------------

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [text]
 * @param {string} [className]
 * @returns {HTMLElementTagNameMap[K]}
 */
function element (tag, text, className) {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  if (className !== undefined) node.className = className
  return node
}

/** @param {HTMLElement} node @param {string} text @param {Tone} tone */
function showTone (node, text, tone) {
  node.textContent = text
  node.dataset.tone = tone
}

/** @param {string} iso */
function sinceText (iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`
}

/** The attended transfer of my call that is waiting for Complete or Cancel. */
function currentConsultation () {
  const mine = [...state.transfers.values()].filter((transfer) =>
    transfer.type === 'attended' && transfer.extension === state.me?.extension && CONSULTING.has(transfer.status))
  return mine.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0]
}

/** The newest transfer coming to me that I have not answered yet. */
function incomingTransfer () {
  const toMe = [...state.transfers.values()].filter((transfer) =>
    transfer.targetExtension === state.me?.extension && transfer.extension !== state.me?.extension && INCOMING.has(transfer.status))
  return toMe.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0]
}

/** @param {Transfer['caller']} caller */
function callerText (caller) {
  if (caller === undefined) return 'unknown'
  return caller.name === undefined ? caller.number : `${caller.name} (${caller.number})`
}

/** The screen pop: who is coming and why, while the phone rings. Text only: the note is never markup. */
function renderIncoming () {
  const transfer = incomingTransfer()
  ui.incoming.hidden = transfer === undefined
  if (transfer === undefined) return
  ui.incomingFrom.textContent = `${transfer.extension} (${transfer.type})`
  ui.incomingCaller.textContent = callerText(transfer.caller)
  ui.incomingNote.textContent = transfer.note ?? 'no note'
}

function renderCalls () {
  if (state.calls.length === 0) {
    ui.calls.replaceChildren(element('p', 'No call right now.', 'empty'))
    return
  }
  ui.calls.replaceChildren(...state.calls.map((call) => {
    const card = element('dl', undefined, 'call')
    card.dataset.state = call.state
    /** @type {[string, string][]} */
    const rows = [
      ['With', call.peer === undefined ? 'nobody yet' : call.peer.number || call.peer.channel],
      ['State', CALL_STATES[call.state]],
      ['Duration', sinceText(call.startedAt)],
      ['Your channel', call.channel]
    ]
    if (call.peer !== undefined) rows.push(['Their channel', call.peer.channel])
    if (call.transfer !== undefined) rows.push(['Transfer', `${call.transfer.type} to ${call.transfer.targetExtension}`])
    for (const [term, value] of rows) {
      const detail = element('dd', value)
      if (term === 'Duration') detail.dataset.since = call.startedAt
      card.append(element('dt', term), detail)
    }
    return card
  }))
}

function selectedTarget () {
  const checked = ui.targetList.querySelector('input[name="target"]:checked')
  return checked instanceof HTMLInputElement ? checked.value : undefined
}

/** @param {string} value @param {string} text @param {string | undefined} selected */
function targetOption (value, text, selected) {
  const label = element('label', undefined, 'target')
  const input = document.createElement('input')
  input.type = 'radio'
  input.name = 'target'
  input.value = value
  input.checked = value === selected
  input.addEventListener('change', renderActions)
  label.append(input, ` ${text}`)
  return label
}

/** The targets the list shows, as one string: the list is only rebuilt when they change. */
let shownTargets = ''

function renderTargets () {
  const { agents, destinations } = state.targets
  const shown = JSON.stringify([agents, destinations])
  if (shown === shownTargets) return
  shownTargets = shown
  const selected = selectedTarget()
  const focused = document.activeElement instanceof HTMLInputElement && ui.targetList.contains(document.activeElement)
    ? document.activeElement.value
    : undefined
  const groups = []
  if (agents.length === 0) groups.push(element('p', 'No agent is available right now.', 'empty'))
  for (const agent of agents) {
    groups.push(targetOption(agent.extension, `${agent.extension}${agent.name === undefined ? '' : ` ${agent.name}`} (available)`, selected))
  }
  for (const destination of destinations) {
    groups.push(targetOption(destination.name, `${destination.label ?? destination.name} (${destination.kind})`, selected))
  }
  ui.targetList.replaceChildren(...groups)
  // A keyboard user moving through the list keeps their place when an event rebuilds it.
  if (focused !== undefined) {
    const radios = [...ui.targetList.querySelectorAll('input')]
    ;(radios.find((radio) => radio.value === focused) ?? radios[0] ?? ui.refreshTargets).focus()
  }
  renderActions()
}

function renderActions () {
  const consultation = currentConsultation()
  const talking = state.calls.some((call) => call.state === 'up' && call.transfer === undefined)
  const target = selectedTarget()
  const canTransfer = !state.busy && talking && consultation === undefined && target !== undefined
  ui.blind.disabled = !canTransfer
  ui.attended.disabled = !canTransfer
  ui.transferHint.textContent = state.busy
    ? 'Waiting for the answer…'
    : consultation !== undefined
      ? 'Complete or cancel the consultation first.'
      : !talking
          ? 'A transfer needs a call you are talking on.'
          : target === undefined ? 'Choose who to transfer to.' : `Ready to transfer to ${target}.`

  ui.consultation.hidden = consultation === undefined
  ui.complete.disabled = state.busy
  // Completing is refused until the target answers. aria-disabled rather than disabled: the button
  // keeps the focus it was given, and pressing it early explains instead of doing nothing.
  ui.complete.setAttribute('aria-disabled', String(!ANSWERED.has(consultation?.status ?? '')))
  ui.cancel.disabled = state.busy
  // Swap and three-way once the target answered, while Asterisk's attended transfer runs (a three-way ends it).
  for (const button of [ui.swap, ui.threeWay]) {
    button.disabled = state.busy
    button.setAttribute('aria-disabled', String(consultation?.status !== 'target_answered'))
  }
  if (consultation !== undefined) renderParties(consultation)
}

/** Who is in the consultation, and whom the agent talks to (`talkingTo`). @param {Transfer} consultation */
function renderParties (consultation) {
  const target = consultation.targetExtension
  const answered = consultation.status === 'target_answered'
  const roles = consultation.status === 'three_way'
    ? ['In the call', 'In the call']
    : consultation.talkingTo === 'customer' && answered ? ['Talking to', 'Waiting'] : ['On hold', 'Talking to']
  ui.consultationCustomerRole.textContent = roles[0] ?? ''
  ui.consultationTargetRole.textContent = roles[1] ?? ''
  ui.consultationCustomer.textContent = callerText(consultation.caller)
  ui.consultationTarget.textContent = answered || consultation.status === 'three_way' ? target : `${target} (ringing)`
  ui.consultationText.textContent = consultation.status === 'three_way'
    ? `Three-way call: the customer, you and ${target}. Complete to leave them together, or cancel to drop ${target}.`
    : !answered
        ? `Calling ${target}… (the customer is on hold)`
        : consultation.talkingTo === 'customer'
          ? `You are back with the customer; ${target} waits. Swap to go back to ${target}, or complete or cancel.`
          : `${target} answered: talk to them, then complete or cancel (or swap, or three-way).`
}

function render () {
  renderCalls()
  renderActions()
  renderIncoming()
}

/**
 * @param {string} type
 * @param {string} text
 * @param {Tone} [tone]
 */
function log (type, text, tone) {
  const entry = element('li')
  if (tone !== undefined) entry.dataset.tone = tone
  const time = element('time', new Date().toLocaleTimeString([], { hour12: false }))
  time.setAttribute('datetime', new Date().toISOString())
  entry.append(time, ' ', element('code', type), ` ${text}`)
  ui.log.prepend(entry)
  while (ui.log.children.length > LOG_LIMIT) ui.log.lastElementChild?.remove()
}

/** @param {{ ami: boolean, ari: boolean }} connection */
function showAsterisk ({ ami, ari }) {
  const up = ami && ari
  showTone(ui.asteriskStatus, up ? 'connected' : `AMI ${ami ? 'up' : 'down'}, ARI ${ari ? 'up' : 'down'}`, up ? 'good' : 'bad')
}

/** @param {Transfer} transfer */
function describeTransfer (transfer) {
  const reason = transfer.failureReason === undefined ? '' : ` (${transfer.failureReason.replaceAll('_', ' ')})`
  const talking = transfer.status === 'target_answered' && transfer.talkingTo !== undefined ? ` (talking to the ${transfer.talkingTo})` : ''
  return `${transfer.type} transfer of ${transfer.extension}'s call to ${transfer.targetExtension}: ${transfer.status.replace('_', ' ')}${talking}${reason}`
}

/** @param {Transfer} transfer @returns {Tone} */
function toneOf (transfer) {
  if (transfer.status === 'failed' || transfer.status === 'abandoned') return 'bad'
  return CONSULTING.has(transfer.status) || transfer.status === 'redirected' ? 'pending' : 'good'
}

// ---- state from the server ----------------------------------------------------------------------

/** How far along its life a transfer is: of two copies stamped in the same millisecond, the further one is newer. */
const PROGRESS = { initiated: 0, redirected: 1, consulting: 1, target_answered: 2, three_way: 3 }

/** @param {Transfer} transfer */
function progressOf (transfer) {
  return PROGRESS[/** @type {keyof typeof PROGRESS} */ (transfer.status)] ?? 4
}

/**
 * Keeps the newest copy of a transfer. The feed and an HTTP answer race: the answer to an attended
 * transfer (consulting) can arrive after the feed's target_answered of the same millisecond.
 * @param {Transfer} transfer
 */
function remember (transfer) {
  const known = state.transfers.get(transfer.id)
  const newer = known === undefined || known.updatedAt < transfer.updatedAt ||
    (known.updatedAt === transfer.updatedAt && progressOf(transfer) >= progressOf(known))
  if (newer) state.transfers.set(transfer.id, transfer)
}

/** Runs `load` once for a burst of calls, and again if asked meanwhile: the last answer is the newest. */
function coalesced (/** @type {() => Promise<void>} */ load) {
  let running = false
  let again = false
  const run = async () => {
    if (running) { again = true; return }
    running = true
    try {
      do {
        again = false
        await load().catch(reportError)
      } while (again)
    } finally {
      running = false
    }
  }
  return run
}

const refreshCalls = coalesced(async () => {
  if (state.client === undefined) return
  state.calls = (await state.client.getCalls()).calls
  render()
})

const refreshTransfers = coalesced(async () => {
  if (state.client === undefined) return
  for (const transfer of (await state.client.getTransfers()).transfers) remember(transfer)
  renderActions()
  renderIncoming()
})

const refreshTargets = coalesced(async () => {
  if (state.client === undefined) return
  state.targets = await state.client.getAvailableAgents()
  renderTargets()
})

/** The example app's /health says whether AMI and ARI are up; the feed says when that changes. */
const refreshAsterisk = coalesced(async () => {
  const response = await fetch('/health')
  if (response.ok) showAsterisk(/** @type {{ asterisk: { ami: boolean, ari: boolean } }} */ (await response.json()).asterisk)
})

async function refreshAll () {
  await Promise.all([refreshCalls(), refreshTransfers(), refreshTargets(), refreshAsterisk()])
}

/** @param {unknown} error */
function reportError (error) {
  const text = error instanceof TransferClientError
    ? `${error.code}${error.statusCode === undefined ? '' : ` (HTTP ${error.statusCode})`}: ${error.message}`
    : error instanceof Error ? error.message : String(error)
  showTone(ui.actionMessage, text, 'bad')
  log('error', text, 'bad')
}

/** @param {TransferClient} client */
function followFeed (client) {
  client.onFeedStatus((status) => {
    showTone(ui.feedStatus, status === 'open' ? 'live' : status, status === 'open' ? 'good' : 'bad')
    // Nothing sent before a connection opened reaches the page: the state is fetched again.
    if (status === 'open') void refreshAll()
  })
  client.on('call:status', (status) => {
    const call = status.call
    log('call:status', status.ended || call === undefined ? `${status.extension}: call ended` : `${status.extension}: ${CALL_STATES[call.state]}${call.peer === undefined ? '' : ` with ${call.peer.number || call.peer.channel}`}`)
    // An ended call names no channel: the list is fetched again, whatever changed.
    void refreshCalls()
  })
  for (const type of TRANSFER_EVENTS) {
    client.on(type, (data) => {
      const transfer = /** @type {Transfer} */ (data)
      remember(transfer)
      log(type, describeTransfer(transfer), toneOf(transfer))
      renderActions()
      renderIncoming()
      // A transfer changes who is free.
      void refreshTargets()
    })
  }
  client.on('agent:status', (status) => {
    log('agent:status', status.reason === undefined ? `${status.extension} is ${status.state.replace('_', ' ')}` : `${status.extension}: ${status.reason}`)
    void refreshTargets()
  })
  client.on('asterisk:connection', (connection) => {
    showAsterisk(connection)
    log('asterisk:connection', `AMI ${connection.ami ? 'connected' : 'disconnected'}, ARI ${connection.ari ? 'connected' : 'disconnected'}`, connection.ami && connection.ari ? 'good' : 'bad')
  })
  client.on('feed:gap', () => {
    log('feed:gap', 'some events were missed: state fetched again', 'bad')
    void refreshAll()
  })
}

// ---- actions ------------------------------------------------------------------------------------

/**
 * @param {() => Promise<Transfer>} action
 * @param {HTMLElement} [returnTo] where the focus goes back to (the pressed button was disabled meanwhile)
 */
async function act (action, returnTo = ui.complete) {
  state.busy = true
  renderActions()
  try {
    const transfer = await action()
    remember(transfer)
    showTone(ui.actionMessage, `Server: ${describeTransfer(transfer)}`, toneOf(transfer))
  } catch (error) {
    reportError(error)
  } finally {
    state.busy = false
    renderActions()
    // The button pressed was disabled while waiting, which took the focus away: give it a place to go.
    if (document.activeElement === document.body) (ui.consultation.hidden ? ui.callTitle : returnTo).focus()
  }
}

/** @param {'blind' | 'attended'} type */
async function transfer (type) {
  const client = state.client
  const target = selectedTarget()
  if (client === undefined || target === undefined) return
  // Blank means no note; anything else goes as typed, and the server says what it refuses.
  const note = ui.transferNote.value.trim()
  const options = note === '' ? {} : { note }
  await act(async () => {
    if (type === 'blind') return await client.transferCall(target, 'blind', options)
    state.handle = await client.attendedTransfer(target, options)
    return state.handle.transfer
  })
  if (ui.actionMessage.dataset.tone !== 'bad') ui.transferNote.value = ''
}

/** @param {'complete' | 'cancel'} action */
async function finishConsultation (action) {
  const client = state.client
  const consultation = currentConsultation()
  if (client === undefined || consultation === undefined) return
  if (action === 'complete' && !ANSWERED.has(consultation.status)) {
    showTone(ui.actionMessage, `${consultation.targetExtension} has not answered yet: complete once they answer, or cancel.`, 'bad')
    return
  }
  const handle = state.handle?.transfer.id === consultation.id ? state.handle : undefined
  await act(async () => {
    // A consultation this page did not start (phone key, another tab, before a reload) goes by id.
    if (handle !== undefined) return action === 'complete' ? await handle.complete() : await handle.cancel()
    return action === 'complete' ? await client.completeTransfer(consultation.id) : await client.cancelTransfer(consultation.id)
  })
}

/**
 * Swap or three-way, once the target answered; before, or in a three-way, it explains instead.
 * @param {'swap' | 'threeWay'} action
 */
async function controlConsultation (action) {
  const client = state.client
  const consultation = currentConsultation()
  if (client === undefined || consultation === undefined) return
  if (consultation.status !== 'target_answered') {
    const why = consultation.status === 'three_way'
      ? 'You are in a three-way: complete to leave the customer with the target, or cancel to drop the target.'
      : `${consultation.targetExtension} has not answered yet: swap or three-way once they answer.`
    showTone(ui.actionMessage, why, 'bad')
    return
  }
  const handle = state.handle?.transfer.id === consultation.id ? state.handle : undefined
  await act(async () => {
    if (handle !== undefined) return action === 'swap' ? await handle.swap() : await handle.threeWay()
    return action === 'swap' ? await client.swapTransfer(consultation.id) : await client.threeWayTransfer(consultation.id)
  }, action === 'swap' ? ui.swap : ui.complete)
}

// ---- signing in and out ---------------------------------------------------------------------------

/** @param {string} token @returns {Promise<Identity | undefined>} */
async function identityOf (token) {
  const response = await fetch('/console/me', { headers: { authorization: `Bearer ${token}` } })
  if (response.status === 401) return undefined
  if (!response.ok) throw new Error(`the server answered HTTP ${response.status}`)
  return /** @type {Identity} */ (await response.json())
}

/** @param {string} token */
async function signIn (token) {
  ui.signInError.textContent = ''
  let me
  try {
    me = await identityOf(token)
  } catch (error) {
    ui.signInError.textContent = `Could not sign in: ${error instanceof Error ? error.message : String(error)}`
    return
  }
  if (me === undefined) {
    sessionStorage.removeItem(TOKEN_KEY)
    ui.signInError.textContent = 'This token is not accepted: check it and try again.'
    ui.token.focus()
    return
  }
  sessionStorage.setItem(TOKEN_KEY, token)
  state.me = me
  state.client = createTransferClient({ baseUrl: location.origin, token, onHandlerError: reportError })
  ui.sessionExtension.textContent = `${me.extension}${me.role === 'supervisor' ? ' (supervisor)' : ''}`
  ui.signIn.hidden = true
  ui.session.hidden = false
  ui.workspace.hidden = false
  ui.log.replaceChildren()
  log('signed in', `as ${me.extension}`)
  followFeed(state.client)
  render()
  ui.callTitle.focus()
  await refreshAll()
}

function signOut () {
  state.client?.close()
  Object.assign(state, { client: undefined, me: undefined, calls: [], transfers: new Map(), handle: undefined, busy: false })
  state.targets = { agents: [], destinations: [] }
  renderTargets()
  sessionStorage.removeItem(TOKEN_KEY)
  ui.workspace.hidden = true
  ui.session.hidden = true
  ui.signIn.hidden = false
  ui.token.value = ''
  ui.demoAgent.value = ''
  ui.actionMessage.textContent = ''
  ui.token.focus()
}

/** The bundled test bed's logins, offered in a list (the server lists none otherwise). */
async function offerDemoLogins () {
  const response = await fetch('/console/demo-logins').catch(() => undefined)
  if (response === undefined || !response.ok) return
  const { logins } = /** @type {{ logins: { token: string, extension: string, role: string }[] }} */ (await response.json())
  for (const login of logins) {
    const option = element('option', `${login.extension}${login.role === 'supervisor' ? ' (supervisor)' : ''}`)
    option.value = login.token
    ui.demoAgent.append(option)
  }
  ui.demoLogins.hidden = logins.length === 0
}

ui.signInForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const token = ui.token.value.trim()
  if (token === '') {
    ui.signInError.textContent = 'Enter a token, or choose a demo agent.'
    ui.token.focus()
    return
  }
  void signIn(token)
})
ui.demoAgent.addEventListener('change', () => { ui.token.value = ui.demoAgent.value })
ui.signOut.addEventListener('click', signOut)
ui.blind.addEventListener('click', () => { void transfer('blind') })
ui.attended.addEventListener('click', () => { void transfer('attended') })
ui.complete.addEventListener('click', () => { void finishConsultation('complete') })
ui.cancel.addEventListener('click', () => { void finishConsultation('cancel') })
ui.swap.addEventListener('click', () => { void controlConsultation('swap') })
ui.threeWay.addEventListener('click', () => { void controlConsultation('threeWay') })
ui.refreshTargets.addEventListener('click', () => { void refreshTargets() })
setInterval(() => {
  for (const node of ui.calls.querySelectorAll('[data-since]')) {
    if (node instanceof HTMLElement && node.dataset.since !== undefined) node.textContent = sinceText(node.dataset.since)
  }
}, 1000)

await offerDemoLogins()
const saved = sessionStorage.getItem(TOKEN_KEY)
if (saved !== null) await signIn(saved)
