//! Test harness for Orchestra's end-to-end tests (being filled in).
