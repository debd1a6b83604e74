// Errors that say why a model cannot take an input, in words written by ocrtune (no decoder,
// codec or engine text): the server puts their description in its 400 answer, so a client learns
// what to change (an image's aspect ratio, its size) rather than only that it failed.

/// An input a model refuses, described so that whoever sent it can fix it.
public protocol InputRejection: Error, CustomStringConvertible {}
