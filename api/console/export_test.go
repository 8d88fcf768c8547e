package console

// PageNames are the page templates, for the external tests that render
// every one of them.
var PageNames = pageNames
