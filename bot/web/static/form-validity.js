// The browser's validation messages in the page's language (issue 19): a form with data-validity gives its texts
// ({missing, email, short, mismatch}); each field's message is set from them as it changes, so the bubble the
// browser shows on submit speaks the page's language instead of the browser's.
(() => {
  "use strict";
  document.querySelectorAll("form[data-validity]").forEach((form) => {
    const texts = JSON.parse(form.dataset.validity);
    const fields = Array.from(form.querySelectorAll("input:not([type=hidden])"));
    function check(field) {
      field.setCustomValidity("");
      const state = field.validity;
      let text = "";
      if (state.valueMissing) {
        text = texts.missing;
      } else if (state.typeMismatch) {
        text = texts.email;
      } else if (state.tooShort) {
        text = texts.short;
      } else if (field.dataset.sameAs) {
        const other = form.elements.namedItem(field.dataset.sameAs);
        if (other && other.value !== field.value) text = texts.mismatch;
      }
      field.setCustomValidity(text || "");
    }
    fields.forEach((field) => {
      check(field);
      field.addEventListener("input", () => fields.forEach(check));  // "repeat it" follows the new password
      field.addEventListener("invalid", () => check(field));
    });
  });
})();
