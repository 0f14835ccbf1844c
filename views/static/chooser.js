/* The chooser's school search: filled in below. */
