// New notes appear at the top of the list as they are posted (the /feed WebSocket).
(function () {
  var list = document.getElementById("notes");
  if (!list || !window.WebSocket) return;
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + location.host + document.body.dataset.feed);
  socket.onmessage = function (event) {
    var note = JSON.parse(event.data);
    if (note.type !== "note") return;
    var item = document.createElement("article");
    item.className = "entry";
    var link = document.createElement("a");
    link.href = "/notes/" + note.id;
    link.textContent = note.title + " (" + note.author + ")";
    item.appendChild(link);
    list.insertBefore(item, list.firstChild);
  };
})();
