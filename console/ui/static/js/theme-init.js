/* Applies the saved light/dark choice before the first paint (a classic script, not a module). */
(() => {
  try {
    const theme = localStorage.getItem("oratio.console.theme");
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  } catch (_) { /* storage blocked: follow the system */ }
})();
