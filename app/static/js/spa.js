// Rapid News as a single page (the workshop's "Rapid News As Single-Page"): the server sent
// this script once; from now on the page changes without loading another one.
//
//   front page: GET  /frontpage.json  -> rows drawn here, each link through /click
//   submit:     POST /submit.json     -> errors beside their fields, or the success in place
//
// The API's URLs are read from the page's data attributes (rendered by Flask's url_for), never
// written here as "/...": a team's site lives under a path like /hacknode1/.
(function () {
    var api = {
        frontpage: $("body").attr("data-frontpage-url"),
        submit: $("body").attr("data-submit-url")
    };

    // ---------- dates, as the server's human_date filter writes them ----------

    function valAgo(value, unit) {
        return value + " " + unit + (value === 1 ? "" : "s") + " ago";
    }

    function humanDate(isoDate) {
        if (!isoDate) {
            return "";
        }
        var date = new Date(isoDate);
        var seconds = Math.max(0, Math.floor((Date.now() - date.getTime()) / 1000));
        var days = Math.floor(seconds / 86400);
        if (days === 0) {
            var hours = Math.floor(seconds / 3600), minutes = Math.floor(seconds / 60);
            if (hours > 0) { return valAgo(hours, "hour"); }
            if (minutes > 0) { return valAgo(minutes, "minute"); }
            return valAgo(seconds, "second");
        }
        if (days < 7) {
            return valAgo(days, "day");
        }
        var pad = function (n) { return (n < 10 ? "0" : "") + n; };
        return pad(date.getUTCMonth() + 1) + "/" + pad(date.getUTCDate()) + "/" + date.getUTCFullYear();
    }

    // ---------- the front page ----------

    // .text() never interprets what it is given: a title like "<script>" stays text.
    function articleRow(article) {
        return $("<tr>").append(
            $("<td>").append($("<span class='badge text-bg-danger score'>").text(article.score)),
            $("<td>").append($("<a>").attr("href", article.click_url).text(article.title)),
            $("<td>").append($("<span class='badge text-bg-secondary published'>").text(humanDate(article.date)))
        );
    }

    function showFrontPage(data) {
        $("#articles tbody").empty().append($.map(data.articles, articleRow));
        $("#articles").prop("hidden", data.articles.length === 0);
        $("#no-news").prop("hidden", data.articles.length > 0);
    }

    function loadFrontPage() {
        $.getJSON(api.frontpage).done(showFrontPage).fail(showProblem);
    }

    // ---------- the submit form ----------

    function clearErrors() {
        $("#submit-form .is-invalid").removeClass("is-invalid").removeAttr("aria-describedby");
        $("#submit-form .invalid-feedback").remove();
    }

    // The same markup as the server's errorhelp macro: <div class="invalid-feedback" id="link-error">
    function showFieldError(field, message) {
        var input = $("#" + field);
        input.addClass("is-invalid").attr("aria-describedby", field + "-error");
        input.after($("<div class='invalid-feedback'>").attr("id", field + "-error").text(message));
    }

    function showSuccess(answer) {
        $("#success-heading").text(answer.created ? "Thanks, your link is on Rapid News!"
                                                  : "That link was already here: you upvoted it!");
        $("#success-link").attr("href", answer.article.click_url).text(answer.article.title);
        $("#success-score").text(answer.article.score);
        $("#submit-success").prop("hidden", false);
        $("#submit-form")[0].reset();
    }

    function submitFailed(request) {
        var errors = request.responseJSON && request.responseJSON.errors;
        if (request.status !== 400 || !errors) {
            showProblem(request);
            return;
        }
        $.each(errors, function (field, message) {
            if ($("#" + field).length) {
                showFieldError(field, message);
            } else {
                showProblem(request, message);     // not about a field, e.g. "request"
            }
        });
    }

    function submitArticle(event) {
        event.preventDefault();                      // no page load: this script posts it
        clearErrors();
        $("#submit-success, #problem").prop("hidden", true);
        $.ajax({
            url: api.submit,
            method: "POST",
            contentType: "application/json",
            dataType: "json",
            data: JSON.stringify({link: $("#link").val(), title: $("#title").val()})
        }).done(showSuccess).fail(submitFailed);
    }

    // ---------- switching views, and problems ----------

    function showProblem(request, message) {
        var said = message || (request.responseJSON && request.responseJSON.error) ||
            "The server did not answer. Try again in a moment.";
        $("#problem").text(said).prop("hidden", false);
    }

    // The view is named in the URL's #fragment: the back button and a reload keep it.
    function showView() {
        var view = window.location.hash === "#submit" ? "submit" : "top";
        $("#top-view").prop("hidden", view !== "top");
        $("#submit-view").prop("hidden", view !== "submit");
        $("[data-view]").removeClass("active").removeAttr("aria-current");
        $("[data-view=" + view + "]").addClass("active").attr("aria-current", "page");
        $("#problem").prop("hidden", true);
        if (view === "top") {
            loadFrontPage();
        } else {
            $("#submit-success").prop("hidden", true);
        }
    }

    $(function () {
        $("#submit-form").on("submit", submitArticle);
        $(window).on("hashchange", showView);
        showView();
    });

    RAPID.humanDate = humanDate;
    RAPID.loadFrontPage = loadFrontPage;
}());
