'use strict';

// The chat page. Everything a user or the server typed is shown with textContent, never as HTML.

(function () {
  const $ = (id) => document.getElementById(id);
  const el = {
    status: $('status'),
    joinForm: $('join-form'),
    name: $('name'),
    joinError: $('join-error'),
    room: $('room'),
    messages: $('messages'),
    sendForm: $('send-form'),
    message: $('message'),
    sendError: $('send-error'),
    users: $('users'),
    onlineCount: $('online-count'),
    you: $('you'),
    stats: {
      connections: $('stat-connections'),
      online: $('stat-online'),
      messagesPerSecond: $('stat-rate'),
      deliveriesPerSecond: $('stat-fanout'),
      totalMessages: $('stat-total'),
    },
  };

  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  let socket = null;
  let me = null; // our name once the server welcomed us
  let wanted = null; // the name to (re)join with
  let retry = 0;

  function setStatus(state, text) {
    el.status.dataset.state = state;
    el.status.textContent = text;
  }

  function connect() {
    setStatus('connecting', 'connecting…');
    socket = new WebSocket(url);
    socket.addEventListener('open', () => {
      retry = 0;
      setStatus('open', 'connected');
      if (wanted !== null) send({ type: 'join', name: wanted });
    });
    socket.addEventListener('message', (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      const handler = handlers[msg.type];
      if (handler) handler(msg);
    });
    socket.addEventListener('close', (event) => {
      me = null;
      const why = event.code === 1001 ? 'server went away' : 'disconnected';
      // Back off so a stopped server is not hammered; rejoin with the same name on return.
      const delay = Math.min(1000 * 2 ** retry, 10000);
      retry += 1;
      setStatus('closed', `${why}, retrying in ${Math.round(delay / 1000)} s`);
      setTimeout(connect, delay);
    });
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function time(at) {
    return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function append(li) {
    const list = el.messages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(li);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function showChat(msg) {
    const li = document.createElement('li');
    li.className = 'msg' + (msg.from === me ? ' mine' : '');
    const stamp = document.createElement('span');
    stamp.className = 'time';
    stamp.textContent = time(msg.at);
    const from = document.createElement('span');
    from.className = 'from';
    from.textContent = msg.from;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = msg.text;
    li.append(stamp, from, text);
    append(li);
  }

  function showSystem(kind, text) {
    const li = document.createElement('li');
    li.className = 'system ' + kind;
    li.textContent = text;
    append(li);
  }

  function showUsers(users) {
    el.users.replaceChildren(
      ...users.map((name) => {
        const li = document.createElement('li');
        li.textContent = name;
        if (name === me) li.className = 'me';
        return li;
      })
    );
    el.onlineCount.textContent = String(users.length);
  }

  const handlers = {
    welcome(msg) {
      me = msg.name;
      wanted = msg.name;
      el.you.textContent = me;
      el.joinError.textContent = '';
      el.joinForm.hidden = true;
      el.room.hidden = false;
      el.messages.replaceChildren();
      msg.history.forEach(showChat);
      showSystem('join', `You joined as ${me}`);
      showUsers(msg.users);
      el.message.focus();
    },
    chat: showChat,
    presence(msg) {
      // Our own join is already announced by the welcome.
      if (!(msg.event === 'join' && msg.name === me)) {
        showSystem(msg.event, msg.event === 'join' ? `${msg.name} joined` : `${msg.name} left`);
      }
      showUsers(msg.users);
    },
    stats(msg) {
      for (const [key, node] of Object.entries(el.stats)) {
        if (typeof msg[key] === 'number') node.textContent = String(msg[key]);
      }
    },
    error(msg) {
      if (me === null) {
        // A refused join (also an automatic rejoin after a reconnect): ask for a name again.
        wanted = null;
        el.room.hidden = true;
        el.joinForm.hidden = false;
        el.joinError.textContent = msg.message;
      } else {
        el.sendError.textContent = msg.message;
      }
    },
  };

  el.joinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = el.name.value.trim();
    if (name === '') return;
    wanted = name;
    if (!send({ type: 'join', name })) el.joinError.textContent = 'Not connected yet; joining when the server is back.';
  });

  el.sendForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = el.message.value.trim();
    if (text === '') return;
    if (send({ type: 'chat', text })) {
      el.message.value = '';
      el.sendError.textContent = '';
    } else {
      el.sendError.textContent = 'Not connected; message not sent.';
    }
  });

  connect();
})();
