// Starts Swagger UI from the files served under /static/swagger (no CDN: intranets have none),
// outside the page so the Content-Security-Policy can forbid inline script.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.url, dom_id: "#swagger-ui", deepLinking: true });
});
