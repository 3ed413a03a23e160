"""The forms demo: GET and POST forms, validation errors inline, XSRF, post/redirect/get."""
