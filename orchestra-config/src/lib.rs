//! Orchestra's configuration (being filled in).
