//! A small positioned DOM over quick-xml; see `read` and `write`.
