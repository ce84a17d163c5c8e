// The portal's own script: small behaviours htmx does not cover.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  console.warn(`request failed with ${status}`, event.detail.pathInfo.requestPath);
});
