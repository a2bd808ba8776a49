// Package docs holds the tests of the repository's Markdown: that every
// relative link and image in README.md and docs/*.md resolves, down to
// the heading an #anchor names. It has no code of its own.
package docs
