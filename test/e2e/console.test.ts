// The agent console in a real headless Chromium, on the real Asterisk 22 test bed: agent 101 signs in,
// sees the customer's call, transfers it blind to 102 (the PBX bridges the customer with 102), then
// starts an attended transfer of a new call to 103 by keyboard and cancels it (the customer is back
// with 101), swaps, swaps back and joins all three in a three-way by keyboard before completing. Needs Debian's chromium at /usr/bin/chromium (scripts/install-browser.sh).
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import t from 'tap'
import { buildApp } from '../../example-app/app.js'
import { ensureClientBuilt } from '../../example-app/client-build.js'
import { bridgePeersOf, callAgent, hangupAllCalls, setAgentAnswerDelay, waitFor, type CustomerCall } from '../helpers/asterisk/calls.js'
import { repoRoot } from '../helpers/asterisk/testbed.js'
import { agentToken, testBedConfig } from '../example-app/fixtures/config.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(repoRoot, 'test-artifacts')
/** How long the page may take to show what the PBX did (the machine may be busy with other runs). */
const UI_TIMEOUT_MS = 20_000

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-browser.sh (apt-get install -y chromium)`)

await ensureClientBuilt()
const app: FastifyInstance = await buildApp(testBedConfig(), {
  logger: { level: 'warn' },
  console: { demoLogins: ['101', '102', '103'].map((extension) => ({ token: agentToken(extension), extension, role: 'agent' as const })) }
})
t.teardown(async () => { await app.close() })
const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
await hangupAllCalls()
t.teardown(async () => { await hangupAllCalls() })

// launch() gives the browser a new, empty user data dir of its own, removed on close.
const browser: Browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
t.teardown(async () => { await browser.close() })
const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
page.setDefaultTimeout(UI_TIMEOUT_MS)
/** What went wrong in the page itself: uncaught errors, console errors, requests that failed. */
const pageErrors: string[] = []
/** Set while a step expects the server to refuse a token: those 401s are not the page's errors. */
let refusalExpected = false
const record = (error: string): void => { if (!(refusalExpected && /\b401\b/.test(error))) pageErrors.push(error) }
page.on('pageerror', (error) => { record(`uncaught: ${error.message}`) })
page.on('console', (message) => { if (message.type() === 'error') record(`console: ${message.text()}`) })
page.on('response', (response) => {
  if (response.status() < 400) return
  void response.text().catch(() => '').then((body) => { record(`HTTP ${response.status()} ${response.url()}: ${body}`) })
})

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)
const logEntry = (text: string | RegExp) => page.locator('#event-log li', { hasText: text }).first()
const callPanel = page.locator('#calls')
/** Waits until the call panel shows every one of these texts at once. */
async function panelShows (...texts: Array<string | RegExp>): Promise<void> {
  await page.waitForFunction((wanted) => {
    const text = document.querySelector('#calls')?.textContent ?? ''
    return wanted.every(([source, isPattern]) => isPattern ? new RegExp(source).test(text) : text.includes(source))
  }, texts.map((text): [string, boolean] => typeof text === 'string' ? [text, false] : [text.source, true]))
}

/** The target's radio button once the list offers it as available. */
async function offeredTarget (extension: string): Promise<ReturnType<Page['getByRole']>> {
  const target = page.getByRole('radio', { name: `${extension} (available)` })
  await waitFor(async () => {
    // The list follows the feed; a click on Refresh covers an agent freed by a hangup just before.
    if (await target.count() === 0) await page.getByRole('button', { name: 'Refresh targets' }).click()
    return await target.count() > 0
  }, UI_TIMEOUT_MS, `${extension} offered as a target`, 500)
  return target
}

async function screenshot (name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true })
}

// What the page showed when a test failed, and what went wrong in it.
t.afterEach(async (t) => {
  if (t.passing()) return
  await screenshot('console-failed.png').catch(() => {})
  t.comment(`the page's errors: ${JSON.stringify(pageErrors)}; screenshot: test-artifacts/console-failed.png`)
})

/** The customer's call to 101 that the first tests sign in to and transfer blind. */
let firstCall: CustomerCall | undefined

t.test('agent 101 signs in as a demo agent and sees the customer\'s call', async (t) => {
  const call = firstCall = await callAgent('101')
  await page.goto(baseUrl)
  t.equal(await page.title(), 'Agent console · fastify-asterisk-transfer')

  await page.getByLabel('Demo agent').waitFor()
  await screenshot('console-sign-in.png')

  refusalExpected = true
  await page.getByLabel('Token', { exact: true }).fill('not-a-token')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').getByText('This token is not accepted').waitFor()
  t.pass('a wrong token is refused with a message')

  await page.getByLabel('Demo agent').selectOption({ label: '101' })
  await page.getByRole('button', { name: 'Sign in' }).click()

  await page.locator('#feed-status', { hasText: 'live' }).waitFor()
  refusalExpected = false
  await page.locator('#asterisk-status', { hasText: 'connected' }).waitFor()
  t.equal(await page.locator('#session-extension').textContent(), '101')
  await panelShows(call.agentChannel.name, call.customerChannel.name, /State\s*talking/)
  t.pass('the call, its customer and its state, written out')
  await page.getByRole('radio', { name: '102 (available)' }).waitFor()
  t.notOk(await page.getByRole('radio', { name: /^101\b/ }).count(), 'the agent is not offered itself')
})

t.test('blind transfer to 102: the log shows it complete and answered, the call leaves the panel, the PBX bridges the customer with 102', async (t) => {
  if (firstCall === undefined) throw new Error('no call to transfer: the sign-in test failed')
  const customer = firstCall.customerChannel.id
  await page.getByRole('radio', { name: '102 (available)' }).check()
  await page.getByRole('button', { name: 'Blind transfer' }).click()

  await logEntry('call:ami_transfer_complete').waitFor()
  t.match(await logEntry('call:ami_transfer_complete').textContent(), /blind transfer of 101's call to 102: redirected/)
  await logEntry(/call:transfer_updated.*to 102: answered/).waitFor()
  await callPanel.getByText('No call right now.').waitFor()
  t.pass('the call left 101\'s panel')
  await screenshot('console-blind.png')

  await waitFor(async () => (await bridgePeersOf(customer)).some(isLegOf('102')), 10_000, 'the customer bridged with 102')
  t.pass('on the PBX the customer talks to 102')
})

t.test('attended transfer to 103 by keyboard, then Cancel: the call is back in the panel and on the PBX with 101', async (t) => {
  await hangupAllCalls()
  const call = await callAgent('101', 'customer2')
  await panelShows(call.agentChannel.name, call.customerChannel.name)
  /** The customer's number as the panel shows it before the transfer. */
  const customerNumber = (await page.locator('#calls dd').first().textContent()) ?? ''
  t.match(customerNumber, /^\+?\d+$/, 'the panel shows who the agent talks with')

  const target = await offeredTarget('103')
  await target.focus()
  await page.keyboard.press('Space')
  t.ok(await target.isChecked(), 'Space picks the target')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Attended transfer', 'Tab reaches the transfer buttons in order')
  await page.keyboard.press('Enter')

  const consultation = page.locator('#consultation')
  await consultation.getByText('103 answered').waitFor()
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Complete transfer', 'the focus moves to the consultation\'s buttons')
  await logEntry('call:ami_attended_transfer_started').waitFor()
  t.match(await callPanel.textContent(), /consulting \(customer on hold\)/)
  t.ok((await page.locator('#consultation-customer').textContent())?.includes(customerNumber), 'both parties: the customer on hold...')
  t.equal(await page.locator('#consultation-target').textContent(), '103', '...and the target')
  t.ok(await page.getByRole('button', { name: 'Blind transfer' }).isDisabled(), 'no second transfer during the consultation')
  await screenshot('console.png')

  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel transfer', 'Tab, then Enter, cancels')
  await page.keyboard.press('Enter')
  await logEntry(/call:ami_attended_transfer_cancelled.*to 103: cancelled/).waitFor()
  await consultation.waitFor({ state: 'hidden' })
  await panelShows(`With${customerNumber}`, call.agentChannel.name, call.customerChannel.name, /State\s*talking/)
  t.pass('the panel shows 101 talking to the customer again')

  const peers = await waitFor(async () => {
    const names = await bridgePeersOf(call.customerChannel.id)
    return names.includes(call.agentChannel.name) && names
  }, 10_000, 'the customer back with 101')
  t.same(peers, [call.agentChannel.name], 'the customer talks to 101 only: the consultation leg is gone')
  await screenshot('console-cancelled.png')
})

t.test('attended transfer to 104, then Complete: the call leaves the panel, the PBX bridges the customer with 104', async (t) => {
  await hangupAllCalls()
  const call = await callAgent('101', 'customer3')
  await panelShows(call.agentChannel.name, call.customerChannel.name)
  const target = page.getByRole('radio', { name: '104 (available)' })
  await target.waitFor()
  await target.check()
  await page.getByRole('button', { name: 'Attended transfer' }).click()

  const consultation = page.locator('#consultation')
  await consultation.getByText('104 answered').waitFor()
  await consultation.getByRole('button', { name: 'Complete transfer' }).click()
  await logEntry(/call:ami_attended_transfer_completed.*to 104: completed/).waitFor()
  await consultation.waitFor({ state: 'hidden' })
  await callPanel.getByText('No call right now.').waitFor()
  t.pass('the call left 101\'s panel')

  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('104')), 10_000, 'the customer bridged with 104')
  t.pass('on the PBX the customer talks to 104')
})

t.test('Complete while the target still rings explains and asks nothing of the server; Cancel works', async (t) => {
  await hangupAllCalls()
  const call = await callAgent('101', 'customer4')
  await panelShows(call.agentChannel.name, call.customerChannel.name)
  await setAgentAnswerDelay(8)
  t.teardown(async () => { await setAgentAnswerDelay(0) })
  const target = page.getByRole('radio', { name: '105 (available)' })
  await target.waitFor()
  await target.check()
  await page.getByRole('button', { name: 'Attended transfer' }).click()

  const consultation = page.locator('#consultation')
  await consultation.getByText('Calling 105').waitFor()
  // The server's answer to the attended transfer: until then both buttons wait, disabled.
  await page.locator('#action-message', { hasText: 'to 105: consulting' }).waitFor()
  const complete = consultation.getByRole('button', { name: 'Complete transfer' })
  t.equal(await complete.getAttribute('aria-disabled'), 'true', 'announced as unavailable, yet focusable')
  const requests: string[] = []
  page.on('request', (request) => { if (request.method() === 'POST') requests.push(request.url()) })
  // By keyboard: Playwright's click() would wait for aria-disabled to clear, a person does not.
  await complete.focus()
  await page.keyboard.press('Enter')
  await page.locator('#action-message', { hasText: '105 has not answered yet' }).waitFor()
  t.equal(await page.locator('#consultation').isVisible(), true, 'the consultation goes on')
  t.same(requests, [], 'no complete request was sent')

  await consultation.getByRole('button', { name: 'Cancel transfer' }).click()
  await logEntry(/call:ami_attended_transfer_cancelled.*to 105: cancelled/).waitFor()
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).includes(call.agentChannel.name), 10_000, 'the customer back with 101')
  t.pass('on the PBX the customer talks to 101 again')
})

t.test('attended transfer to 103, then Swap, Swap back and Three-way by keyboard, then Complete: the customer ends with 103', async (t) => {
  await hangupAllCalls()
  const call = await callAgent('101', 'customer2')
  await panelShows(call.agentChannel.name, call.customerChannel.name)
  const target = await offeredTarget('103')
  await target.check()
  await page.getByRole('button', { name: 'Attended transfer' }).click()

  const consultation = page.locator('#consultation')
  await consultation.getByText('103 answered').waitFor()
  const role = async (party: 'customer' | 'target'): Promise<string | null> => await page.locator(`#consultation-${party}-role`).textContent()
  const focused = async (): Promise<string | null | undefined> => await page.evaluate(() => document.activeElement?.textContent)
  t.same([await role('customer'), await role('target')], ['On hold', 'Talking to'])

  await consultation.getByRole('button', { name: 'Swap' }).focus()
  await page.keyboard.press('Enter')
  await consultation.getByText('You are back with the customer').waitFor()
  t.same([await role('customer'), await role('target')], ['Talking to', 'Waiting'], 'the panel says whom 101 talks to')
  t.equal(await focused(), 'Swap', 'the focus stays on Swap, to swap back')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'on the PBX the customer talks to 101')
  await logEntry(/call:transfer_swapped.*talking to the customer/).waitFor()

  await page.keyboard.press('Enter')
  await consultation.getByText('103 answered').waitFor()
  t.ok((await bridgePeersOf(call.agentChannel.id)).some(isLegOf('103')), 'swapped back: 101 talks to 103 on the PBX')

  await page.keyboard.press('Tab')
  t.equal(await focused(), 'Three-way', 'Tab reaches Three-way')
  await page.keyboard.press('Enter')
  await consultation.getByText('Three-way call').waitFor()
  await logEntry('call:transfer_three_way').waitFor()
  t.same([await role('customer'), await role('target')], ['In the call', 'In the call'])
  const peers = await bridgePeersOf(call.customerChannel.id)
  t.ok(peers.includes(call.agentChannel.name) && peers.some(isLegOf('103')), `customer, 101 and 103 in one call on the PBX: ${peers.join(', ')}`)
  t.equal(await consultation.getByRole('button', { name: 'Swap' }).getAttribute('aria-disabled'), 'true', 'no swap in a three-way')
  await screenshot('console-three-way.png')

  await consultation.getByRole('button', { name: 'Complete transfer' }).click()
  await logEntry(/call:ami_attended_transfer_completed.*to 103: completed/).waitFor()
  await consultation.waitFor({ state: 'hidden' })
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 10_000, 'the customer bridged with 103')
  t.pass('101 left: on the PBX the customer talks to 103')
})

t.test('a note for the target: 102\'s console shows the incoming transfer, its note and caller, while 102 rings', async (t) => {
  await hangupAllCalls()
  const targetPage = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  targetPage.setDefaultTimeout(UI_TIMEOUT_MS)
  targetPage.on('pageerror', (error) => { record(`uncaught (102): ${error.message}`) })
  t.teardown(async () => { await targetPage.close() })
  await targetPage.goto(baseUrl)
  await targetPage.getByLabel('Demo agent').selectOption({ label: '102' })
  await targetPage.getByRole('button', { name: 'Sign in' }).click()
  await targetPage.locator('#feed-status', { hasText: 'live' }).waitFor()

  const call = await callAgent('101', 'customer1')
  await panelShows(call.agentChannel.name, call.customerChannel.name)
  // 102 rings long enough for the screen pop to be seen before the answer.
  await setAgentAnswerDelay(8)
  t.teardown(async () => { await setAgentAnswerDelay(0) })
  const note = 'Billing dispute <b>VIP</b>, identity checked'
  await page.getByLabel('Note for the target').fill(note)
  const target = page.getByRole('radio', { name: '102 (available)' })
  await target.waitFor()
  await target.check()
  await page.getByRole('button', { name: 'Blind transfer' }).click()

  const incoming = targetPage.locator('#incoming')
  await incoming.getByText(note).waitFor()
  t.equal(await targetPage.locator('#incoming-note').textContent(), note, 'the note, as text (no markup)')
  t.equal(await targetPage.locator('#incoming-note b').count(), 0)
  // The name only when Asterisk passes it on the connected line.
  t.match(await targetPage.locator('#incoming-caller').textContent(), /^(Customer 1 \()?\+15550000001\)?$/)
  t.match(await targetPage.locator('#incoming-from').textContent(), /^101 \(blind\)/)
  const peers = await bridgePeersOf(call.customerChannel.id)
  t.notOk(peers.some(isLegOf('102')), 'shown before 102 answered')
  await targetPage.screenshot({ path: join(ARTIFACTS, 'console-incoming.png'), fullPage: true })
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('102')), 20_000, 'the customer bridged with 102')
  await incoming.waitFor({ state: 'hidden' })
  t.pass('the screen pop goes once 102 answered')
  t.equal(await page.getByLabel('Note for the target').inputValue(), '', 'the note field is emptied after the transfer')
})

t.test('the page reported no error', async (t) => {
  t.same(pageErrors, [])
})
