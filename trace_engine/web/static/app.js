// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Diff page: load a draft pack from a file into the text box (the form still posts the text).
  var picker = document.getElementById("draft-file");
  var box = document.getElementById("draft");
  if (picker && box && window.FileReader) {
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    picker.addEventListener("change", function () {
      var file = picker.files && picker.files[0];
      if (!file) return;
      if (file.size > 512 * 1024) { alert("The draft may be at most 512 KB."); return; }
      var reader = new FileReader();
      reader.onload = function () { box.value = String(reader.result); box.focus(); };
      reader.readAsText(file);
    });
  }
});
