// The uploads page: refuses files the server would refuse before a byte is
// sent, and shows a progress bar while the files go up (a large upload
// otherwise looks frozen). Loaded by index.html as a static file: the
// Content-Security-Policy allows no inline script, so the limits come from
// the form's data- attributes. Without this script the form posts as plain
// HTML, and the server enforces the same limits either way.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var input = document.getElementById("files");
  var refusal = document.getElementById("files-error");
  var progress = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var status = document.getElementById("upload-status");
  var submit = form.querySelector("input[type=submit]");
  // The server's limits: the whole request body (the files and a little
  // framing) and the number of files in one upload.
  var maxBytes = Number(form.dataset.maxBytes);
  var maxFiles = Number(form.dataset.maxFiles);

  function megabytes(bytes) {
    return (bytes / 1048576).toLocaleString("en", {maximumFractionDigits: 1}) + " MB";
  }

  // Why these files cannot be sent, or "" when they can.
  function problem(files) {
    var total = 0;
    for (var i = 0; i < files.length; i++) {
      if (files[i].size > maxBytes) {
        return "\u201c" + files[i].name + "\u201d is " + megabytes(files[i].size) +
          ": uploads here are at most " + megabytes(maxBytes) + ".";
      }
      total += files[i].size;
    }
    if (files.length > maxFiles) {
      return "That is " + files.length + " files: at most " + maxFiles + " go in one upload.";
    }
    if (total > maxBytes) {
      return "Together these files are " + megabytes(total) + ": one upload is at most " + megabytes(maxBytes) + ".";
    }
    return "";
  }

  // Shows (or clears) the refusal; true when the chosen files may be sent.
  function check() {
    var reason = problem(input.files);
    refusal.textContent = reason && reason + " Nothing was sent.";
    refusal.hidden = !reason;
    input.setCustomValidity(reason);   // the browser will not submit the form either
    if (reason) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    return !reason;
  }

  function show(sent, total) {
    var percent = total ? Math.floor(100 * sent / total) : 100;
    bar.value = percent;
    status.textContent = percent + "% \u00b7 " + megabytes(sent) + " of " + megabytes(total);
  }

  function failed(why) {
    progress.hidden = true;
    submit.disabled = false;
    refusal.textContent = "The upload failed: " + why + ".";
    refusal.hidden = false;
  }

  function send() {
    var data = new FormData(form);   // the XSRF token first, as the handler needs it
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) show(event.loaded, event.total);
    });
    request.upload.addEventListener("load", function () {
      status.textContent = "100% sent \u00b7 storing and checking\u2026";
    });
    request.addEventListener("load", function () {
      // The server answers a stored upload with a redirect to the listing
      // (post/redirect/get), which the request followed: go there.
      if (request.status === 200) window.location.assign(request.responseURL);
      else failed(request.status + " " + request.statusText);
    });
    request.addEventListener("error", function () { failed("the connection was lost"); });
    submit.disabled = true;
    refusal.hidden = true;
    bar.value = 0;
    status.textContent = "0% \u00b7 starting\u2026";
    progress.hidden = false;
    request.send(data);
  }

  input.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (check()) send();
  });
})();
