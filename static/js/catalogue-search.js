// The catalogue's search and category filter leave no blank fields in the URL: a cleared
// search box asks for /products/ (or /products/?category=Fitness), not /products/?q=&category=.
// htmx builds the request's query from the form; blank values are dropped before it is sent,
// so the URL htmx pushes to the history is clean too. Without JavaScript the server redirects
// a blank filter to the clean URL.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb !== "get" || !event.detail.elt.closest("#search-form, #catalogue-results")) return;
  const parameters = event.detail.parameters;
  for (const name of ["q", "category"]) {
    const value = parameters[name];
    if (value !== undefined && !String(value).trim()) delete parameters[name];
  }
});
