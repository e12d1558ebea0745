// The decision letter's draft saves itself a moment after the officer stops typing, and the
// preview beside it reloads: what will be sent, as it will read. Without this script the
// "保存草稿" button does the same with a page reload.
(function () {
  var form = document.getElementById("draft-form");
  var preview = document.getElementById("draft-preview");
  if (!form || !preview) return;
  var status = document.getElementById("draft-status");
  var timer = null, saving = false, again = false;
  function say(text) { if (status) status.textContent = text; }
  function save() {
    if (saving) { again = true; return; }
    saving = true; say("正在保存…");
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                        headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        if (res.ok) {
          form.elements.expected_version.value = res.body.version;
          say("已保存（第" + res.body.version + "稿）");
          preview.src = preview.src.split("#")[0].split("?")[0] + "?v=" + res.body.version;
        } else { say(res.body.error || "未能保存"); }
      })
      .catch(function () { say("未能保存：网络错误"); })
      .then(function () { saving = false; if (again) { again = false; save(); } });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer); timer = setTimeout(save, 800);
  });
})();
