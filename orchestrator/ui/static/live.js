// orch ui: the one event stream every tab of the board shares (a shared worker). A browser
// keeps at most six connections to one server; a stream per tab would use them all up.
"use strict";
const ports = new Set();
let source = null;
let ready = false;

function tell(kind) {
  for (const port of ports) port.postMessage(kind);
}

function open() {
  source = new EventSource("/api/events");
  source.addEventListener("ready", () => { ready = true; tell("ready"); });
  source.addEventListener("change", () => tell("change"));
  source.onerror = () => { ready = false; tell("down"); };  // EventSource reconnects by itself
}

onconnect = (event) => {
  const port = event.ports[0];
  ports.add(port);
  port.onmessage = (m) => {
    if (m.data === "bye") ports.delete(port);
  };
  port.start();
  if (!source) open();
  else if (ready) port.postMessage("ready");
};
