"""The console's pages, one module per area; each holds only what to show and which API call a
button makes."""
