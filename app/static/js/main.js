// Rapid News page behaviour. The workshop's module pattern: an anonymous function keeps
// names private; what other scripts may use is exported on window.RAPID.
(function () {
    // The server renders the welcome dialog only on a visitor's first page (it remembers the
    // visit in a cookie), so when the dialog is in the page, show it.
    function showFirstVisitDialog() {
        var dialog = document.getElementById("first-visit-dialog");
        if (dialog) {
            bootstrap.Modal.getOrCreateInstance(dialog).show();
        }
    }

    $(showFirstVisitDialog);     // when the page is ready (jQuery)

    RAPID.showFirstVisitDialog = showFirstVisitDialog;
}());
