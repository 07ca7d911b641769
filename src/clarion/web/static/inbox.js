// The inbox page, live: new notifications appear as they arrive, over the page's own
// Server-Sent Events stream. Without this script the page still works (reload to see more).
(function () {
  "use strict";
  var list = document.getElementById("inbox-items");
  var counter = document.querySelector("[data-unread]");
  if (!list || !counter || !window.EventSource) {
    return;
  }

  function httpUrl(url) {
    return /^https?:\/\//i.test(url) ? url : "#";
  }

  function render(item) {
    var article = document.createElement("article");
    article.className = "item unread";
    article.id = "item-" + item.id;
    article.setAttribute("aria-label", item.title);
    var body = document.createElement("div");
    body.className = "body";
    var title = document.createElement("h2");
    title.textContent = item.title;
    var when = document.createElement("div");
    when.className = "muted";
    when.textContent = (item.sent_at || "").replace("T", " ").slice(0, 16) + " UTC";
    var content = document.createElement("div");
    content.innerHTML = item.body_html; // rendered from Markdown and sanitized (nh3) by the server
    body.append(title, when, content);
    (item.actions || []).forEach(function (action) {
      var link = document.createElement("a");
      link.className = "button";
      link.href = httpUrl(action.url);
      link.textContent = action.label;
      body.append(link, " ");
    });
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/inbox/" + encodeURIComponent(item.id) + "/read";
    var button = document.createElement("button");
    button.className = "quiet";
    button.type = "submit";
    button.textContent = "Mark as read";
    form.append(button);
    article.append(body, form);
    return article;
  }

  // From when the page was rendered: nothing sent in between is missed, and a reconnect
  // sends it all again (the ids drop what is already shown).
  var source = new EventSource("/inbox/stream?since=" + encodeURIComponent(list.dataset.since));
  source.addEventListener("notification", function (event) {
    var item = JSON.parse(event.data);
    if (document.getElementById("item-" + item.id)) {
      return;
    }
    var empty = document.getElementById("inbox-empty");
    if (empty) {
      empty.remove();
    }
    list.prepend(render(item));
    var readAll = document.getElementById("read-all");
    if (readAll) {
      readAll.hidden = false;
    }
    var unread = Number(counter.dataset.unread) + 1;
    counter.dataset.unread = String(unread);
    counter.textContent = "Inbox (" + unread + ")";
  });
})();
