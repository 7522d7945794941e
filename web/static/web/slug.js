// A page with #id_name and #id_slug: the slug follows the name until someone types one.
(function () {
  var name = document.getElementById("id_name"), slug = document.getElementById("id_slug");
  if (!name || !slug) return;
  var automatic = !slug.value;
  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50);
  }
  slug.addEventListener("input", function () { automatic = !slug.value; });
  name.addEventListener("input", function () { if (automatic) slug.value = slugify(name.value); });
})();
