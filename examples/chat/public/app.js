// The chat page: a plain ES module, no bundler. User text only ever goes through textContent.
import { connect } from '/switchboard.js'

const TRANSPORTS = ['websocket', 'sse', 'long-polling']
const params = new URLSearchParams(location.search)
const $ = (id) => document.getElementById(id)
const body = document.body

const forced = params.get('transport')
const client = connect('/rt', TRANSPORTS.includes(forced) ? { transports: [forced] } : {})

/** State tests and the console can read: `chat.received` holds the current room's messages. */
const chat = { client, room: null, channel: null, sent: [], received: [], missed: [], errors: [], sessionNode: null, requestNode: null }
window.chat = chat

// ---- status bar: every `state` and `transport` event ----

function renderStatus() {
  const transport = client.transport ?? 'none'
  body.dataset.state = client.state
  body.dataset.transport = transport
  $('state').textContent = client.state
  $('transport').textContent = transport
}
client.on('state', renderStatus)
client.on('transport', renderStatus)
client.on('error', showError)
client.on('session', ({ resumed, reason }) => {
  if (!resumed) console.info(`new session (${reason}); rejoining #${chat.room}`)
})
renderStatus()

// Which node holds the session (the `stats` call is answered there), and which answered a plain
// request (behind a round-robin balancer, the next one may be another).
async function refreshStats() {
  if (client.state !== 'open') return
  try {
    const { sessions, node } = await client.call('stats', null)
    $('sessions').textContent = `${sessions} connected`
    $('session-node').textContent = chat.sessionNode = node
  } catch {
    $('sessions').textContent = ''
  }
}

async function refreshRequestNode() {
  try {
    const { node } = await (await fetch('/node', { cache: 'no-store' })).json()
    $('request-node').textContent = chat.requestNode = node
  } catch {
    $('request-node').textContent = '?'
  }
}
client.on('state', ({ to }) => to === 'open' && refreshStats())
setInterval(() => (refreshStats(), refreshRequestNode()), 10_000)
void refreshRequestNode()

// ---- errors, shown inline with their code ----

function showError(error) {
  const code = error?.code ?? 'ERROR'
  const message = error?.message ?? String(error)
  chat.errors.push({ code, message })
  $('error-code').textContent = code
  $('error-message').textContent = message
  $('error').dataset.code = code
  $('error').hidden = false
}

function hideError() {
  $('error').hidden = true
}

// ---- messages ----

const list = $('messages')
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** Appends an item to the list, following it down if the reader was at the bottom. */
function append(item) {
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
  list.append(item)
  if (atBottom) list.scrollTop = list.scrollHeight
}

function render({ name, text, at, node }) {
  const item = document.createElement('li')
  if (name === 'server') item.classList.add('server')
  else if (name === $('name').value.trim()) item.classList.add('mine')
  const who = document.createElement('span')
  who.className = 'name'
  who.textContent = name
  const when = document.createElement('time')
  const date = new Date(at)
  when.dateTime = date.toISOString()
  when.textContent = timeFormat.format(date)
  const what = document.createElement('p')
  what.className = 'text'
  what.textContent = text
  item.append(who, when, what)
  if (node) {
    // The node that handled the publish.
    const via = document.createElement('span')
    via.className = 'node'
    via.textContent = `via ${node}`
    when.after(via)
  }
  append(item)
  return item
}

/**
 * A (re)subscribe could not replay everything it missed: the room's history was too short for
 * the gap, or the server restarted. `missing` says which offsets; the page says so where the gap
 * is, before the first message the subscribe replayed.
 */
function renderMissed(missing, firstReplayed) {
  chat.missed.push(missing)
  const item = document.createElement('li')
  item.className = 'missed'
  item.textContent = 'some messages were missed'
  if (firstReplayed) list.insertBefore(item, firstReplayed)
  else append(item)
}

// ---- rooms ----

let offChannel = () => {}

async function join(room) {
  if (room === chat.room) return
  const previous = chat.channel
  offChannel()
  if (previous) previous.unsubscribe().catch(showError)
  const channel = client.channel(`room:${room}`)
  Object.assign(chat, { room, channel, received: [], missed: [] })
  delete body.dataset.joined
  list.replaceChildren()
  $('room').value = room
  $('room-title').textContent = `#${room}`
  $('message').placeholder = `Message #${room}`
  document.title = `#${room} · Switchboard chat`
  const url = new URL(location.href)
  url.searchParams.set('room', room)
  history.replaceState(null, '', url)
  // Messages that come while the channel is subscribing are replayed ones: a gap lies before them.
  let firstReplayed = null
  const offMessage = channel.on('message', ({ data }) => {
    chat.received.push(data)
    const item = render(data)
    if (channel.state === 'subscribing') firstReplayed ??= item
  })
  // Also after a lost session: the channel resubscribes on its own and reports what it missed.
  const offSubscribed = channel.on('subscribed', ({ missing }) => {
    if (missing) renderMissed(missing, firstReplayed)
    firstReplayed = null
  })
  offChannel = () => (offMessage(), offSubscribed())
  try {
    await channel.subscribe({ recent: 50 }) // a newcomer sees the conversation so far
    if (chat.channel === channel) body.dataset.joined = room
  } catch (e) {
    showError(e)
  }
}

$('join').addEventListener('submit', (event) => {
  event.preventDefault()
  hideError()
  void join($('room').value.trim())
})

// ---- your name ----

const nameInput = $('name')
nameInput.value = params.get('name') ?? localStorage.getItem('chat:name') ?? `guest-${Math.floor(Math.random() * 9000 + 1000)}`
nameInput.addEventListener('change', () => localStorage.setItem('chat:name', nameInput.value.trim()))

// ---- sending ----

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault()
  const input = $('message')
  const text = input.value
  if (text.trim() === '' || !chat.channel) return
  hideError()
  const message = { name: nameInput.value.trim(), text }
  try {
    const { offset } = await chat.channel.publish(message)
    chat.sent.push({ ...message, offset })
    if (input.value === text) input.value = ''
  } catch (e) {
    showError(e)
  }
})

if (forced && !TRANSPORTS.includes(forced)) {
  showError({ code: 'BAD_REQUEST', message: `Unknown transport "${forced}"; use ${TRANSPORTS.join(', ')}` })
}
void join(params.get('room')?.trim() || 'lobby')
$('message').focus()
