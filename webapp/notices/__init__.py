"""In-app notices: the bell in the header with its unread count, and the list."""
