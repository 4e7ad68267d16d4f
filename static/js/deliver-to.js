// "Use my location" on the catalogue's deliver-to form: fill lat/lng from the browser, submit.
// Without JavaScript (or geolocation) the button stays hidden and the pincode/city field works.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("deliver-to");
  const button = form && form.querySelector("[data-use-location]");
  if (!button || !("geolocation" in navigator)) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition((position) => {
      form.elements.lat.value = position.coords.latitude.toFixed(4);
      form.elements.lng.value = position.coords.longitude.toFixed(4);
      form.submit();
    });
  });
});
