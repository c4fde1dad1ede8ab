#!/usr/bin/env bash
# Provision the real-Asterisk test bed.
#
#  1. When missing or incomplete, build a Debian sid root filesystem holding
#     asterisk + asterisk-modules into ${ASTERISK_ROOT:-<repo>/.asterisk/root}
#     (built in a temporary sibling directory, marked complete, then moved into
#     place, so an interrupted build never looks complete).
#  2. On every run, lay out the configuration of the three Asterisk instances
#     that live in that root:
#       - the PBX:   /etc/asterisk       = Debian's stock files + common/ + pbx/
#       - the farm:  /etc/asterisk-farm  = Debian's stock files + common/ + farm/
#       - the second PBX: /etc/asterisk-pbx2 = Debian's stock files + common/ + pbx2/
#         + pbx/features.conf
#     and give the asterisk user (inside the root) the files it reads/writes.
#
# Idempotent; needs root (mmdebstrap, chroot, chown). Run it directly or let
# test/helpers/asterisk/asterisk-process.ts run it.
#
# Environment:
#   ASTERISK_ROOT            where the root filesystem lives (default <repo>/.asterisk/root)
#   ASTERISK_DEBIAN_MIRROR   optional mirror URL passed to mmdebstrap (default: mmdebstrap's own)
#   ASTERISK_EXTRA_PACKAGES  optional extra Debian packages (comma separated) for a new build
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${HERE}/../.." && pwd)"
ROOT="${ASTERISK_ROOT:-${REPO}/.asterisk/root}"
MARKER_NAME=".asterisk-testbed-complete"
STOCK_DIR="/usr/share/asterisk-testbed/stock-etc"   # inside the root
PACKAGES="asterisk,asterisk-modules${ASTERISK_EXTRA_PACKAGES:+,${ASTERISK_EXTRA_PACKAGES}}"

log() { printf '[provision] %s\n' "$*" >&2; }
die() { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ "$(id -u)" -ne 0 ]]; then
  die "must run as root (it uses mmdebstrap, chroot and chown); try: sudo $0"
fi

# Make ROOT absolute without requiring it to exist.
case "${ROOT}" in
  /*) ;;
  *) ROOT="$(pwd)/${ROOT}" ;;
esac
ROOT="${ROOT%/}"
[[ "${ROOT}" != "" && "${ROOT}" != "/" ]] || die "refusing to use / as ASTERISK_ROOT"

# Refuse to delete or rebuild a root that is in use (processes chrooted into
# it or filesystems mounted below it).
root_in_use() {
  local dir="$1" pid link
  if [[ -r /proc/mounts ]] && awk -v d="${dir}" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    return 0
  fi
  for pid in /proc/[0-9]*; do
    link="$(readlink "${pid}/root" 2>/dev/null || true)"
    if [[ "${link}" == "${dir}" ]]; then
      return 0
    fi
  done
  return 1
}

# A killed mmdebstrap can leave its proc/sys/dev mounts inside the build
# directory: unmount those (deepest first) before removing it.
unmount_below() {
  local dir="$1" m
  awk -v d="${dir}" 'index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    log "unmounting leftover ${m}"
    umount -l "${m}" || true
  done
}

discard_build() {
  unmount_below "$1"
  rm -rf --one-file-system "$1"
}

build_root() {
  local tmp

  # Leftovers of interrupted builds.
  for tmp in "${ROOT}".build.*; do
    [[ -e "${tmp}" ]] || continue
    unmount_below "${tmp}"
    if root_in_use "${tmp}"; then
      die "${tmp} (an old unfinished build) is in use; stop what uses it and retry"
    fi
    log "removing unfinished build ${tmp}"
    rm -rf --one-file-system "${tmp}"
  done

  if [[ -e "${ROOT}" ]]; then
    if root_in_use "${ROOT}"; then
      die "${ROOT} is incomplete but in use (processes or mounts); stop them and retry"
    fi
    log "removing incomplete root ${ROOT}"
    rm -rf --one-file-system "${ROOT}"
  fi

  if ! command -v mmdebstrap >/dev/null 2>&1; then
    log "installing mmdebstrap"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y mmdebstrap
  fi

  tmp="$(mktemp -d "${ROOT}.build.XXXXXX")"
  chmod 0755 "${tmp}"   # mktemp made it 0700; apt (_apt) and asterisk must walk it
  # shellcheck disable=SC2064
  trap "discard_build '${tmp}'" EXIT

  local -a args=(--variant=apt "--include=${PACKAGES}"
                 '--aptopt=Acquire::Check-Valid-Until "false"' sid "${tmp}")
  if [[ -n "${ASTERISK_DEBIAN_MIRROR:-}" ]]; then
    args+=("${ASTERISK_DEBIAN_MIRROR}")
  fi
  log "building Debian sid root with ${PACKAGES} (takes ~30 s)"
  mmdebstrap "${args[@]}"

  chroot "${tmp}" id asterisk >/dev/null 2>&1 || die "build finished but has no asterisk user"
  [[ -x "${tmp}/usr/sbin/asterisk" ]] || die "build finished but has no /usr/sbin/asterisk"

  # Keep a pristine copy of Debian's configuration to overlay onto on every run.
  mkdir -p "${tmp}${STOCK_DIR}"
  cp -a "${tmp}/etc/asterisk/." "${tmp}${STOCK_DIR}/"

  chroot "${tmp}" asterisk -V > "${tmp}/${MARKER_NAME}"
  date -u +%Y-%m-%dT%H:%M:%SZ >> "${tmp}/${MARKER_NAME}"
  mv "${tmp}" "${ROOT}"
  trap - EXIT
  log "root ready: $(head -n1 "${ROOT}/${MARKER_NAME}")"
}

# One provisioning at a time (two test runs starting together must not both build).
mkdir -p "$(dirname "${ROOT}")"
exec 9>"${ROOT}.lock"
if ! flock -w 900 9; then
  die "another provision.sh has held ${ROOT}.lock for 15 minutes"
fi

if [[ ! -f "${ROOT}/${MARKER_NAME}" ]]; then
  build_root
else
  log "root present: $(head -n1 "${ROOT}/${MARKER_NAME}")"
fi

# ---------------------------------------------------------------------------
# Configuration (every run).
# install_config <etc dir inside root> <overlay dir>...
install_config() {
  local etc="$1"; shift
  local dest="${ROOT}${etc}" tmp overlay
  tmp="$(mktemp -d "${dest}.new.XXXXXX")"
  cp -a "${ROOT}${STOCK_DIR}/." "${tmp}/"
  for overlay in "$@"; do
    cp -a "${overlay}/." "${tmp}/"
  done
  chmod 0755 "${tmp}"
  rm -rf --one-file-system "${dest}"
  mv "${tmp}" "${dest}"
}

install_config /etc/asterisk "${HERE}/common" "${HERE}/pbx"
install_config /etc/asterisk-farm "${HERE}/common" "${HERE}/farm"
# The second PBX: the first one's call features (one file for both), its own everything else.
install_config /etc/asterisk-pbx2 "${HERE}/common" "${HERE}/pbx2"
cp "${HERE}/pbx/features.conf" "${ROOT}/etc/asterisk-pbx2/features.conf"

# Load agents 2000..2199 for the load test (100 customer calls each transferred at once, agent
# 2000+i to 2100+i): endpoints on the PBX, registrations on the farm. Generated, not written out by
# hand 200 times; the dialplan reaches them with the pattern _2XXX.
LOAD_FIRST=2000
LOAD_COUNT=200
{
  echo "; Load agents ${LOAD_FIRST}..$((LOAD_FIRST + LOAD_COUNT - 1)), generated by provision.sh."
  for ((ext = LOAD_FIRST; ext < LOAD_FIRST + LOAD_COUNT; ext++)); do
    printf '[%s](agent-endpoint)\nauth = %s\naors = %s\ncallerid = "Load %s" <%s>\n[%s](agent-auth)\nusername = %s\npassword = pw%s\n[%s](agent-aor)\n\n' \
      "$ext" "$ext" "$ext" "$ext" "$ext" "$ext" "$ext" "$ext" "$ext"
  done
} >> "${ROOT}/etc/asterisk/pjsip.conf"
# The farm registers them only while the load test runs (it copies this file to pjsip-load-active.conf,
# which pjsip.conf #tryincludes, and reloads): every other test sees the agents it expects online.
{
  echo "; Registrations of the load agents, generated by provision.sh."
  for ((ext = LOAD_FIRST; ext < LOAD_FIRST + LOAD_COUNT; ext++)); do
    printf '[reg-%s](agent-registration)\nclient_uri = sip:%s@127.0.0.1:15060\ncontact_user = %s\noutbound_auth = auth-%s\n[auth-%s](agent-auth)\nusername = %s\npassword = pw%s\n\n' \
      "$ext" "$ext" "$ext" "$ext" "$ext" "$ext" "$ext"
  done
} > "${ROOT}/etc/asterisk-farm/pjsip-load.conf"

# Music on hold: Debian's musiconhold.conf plays the files of /usr/share/asterisk/moh,
# which no package in the root provides; without any, Asterisk disables MOH and
# held or queued callers get no MusicOnHoldStart. One stock prompt is enough.
mkdir -p "${ROOT}/usr/share/asterisk/moh"
if [[ ! -e "${ROOT}/usr/share/asterisk/moh/tt-monkeys.gsm" ]]; then
  cp "${ROOT}/usr/share/asterisk/sounds/en_US_f_Allison/tt-monkeys.gsm" "${ROOT}/usr/share/asterisk/moh/" ||
    log "warning: no prompt to use as music on hold; MOH stays disabled"
fi

# Directories each instance writes to (the farm's paths are those of
# farm/asterisk.conf; the PBX keeps Debian's defaults).
PBX_DIRS=(/etc/asterisk /run/asterisk /var/lib/asterisk /var/log/asterisk
          /var/spool/asterisk /var/cache/asterisk)
FARM_DIRS=(/etc/asterisk-farm /run/asterisk-farm /var/lib/asterisk-farm /var/lib/asterisk-farm/keys
           /var/log/asterisk-farm /var/spool/asterisk-farm /var/cache/asterisk-farm)
PBX2_DIRS=(/etc/asterisk-pbx2 /run/asterisk-pbx2 /var/lib/asterisk-pbx2 /var/log/asterisk-pbx2
           /var/spool/asterisk-pbx2 /var/cache/asterisk-pbx2)
for d in "${PBX_DIRS[@]}" "${FARM_DIRS[@]}" "${PBX2_DIRS[@]}"; do
  mkdir -p "${ROOT}${d}"
done
chroot "${ROOT}" chown -R asterisk:asterisk "${PBX_DIRS[@]}" "${FARM_DIRS[@]}" "${PBX2_DIRS[@]}"

log "configuration installed into ${ROOT} (PBX: /etc/asterisk, farm: /etc/asterisk-farm, second PBX: /etc/asterisk-pbx2)"
