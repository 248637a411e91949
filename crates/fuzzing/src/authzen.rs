//! AuthZEN evaluation bodies through `writ serve`'s text path (the hot path of `POST
//! /access/v1/evaluation`) and its tree mapping, on fixed compiled sets: whenever the text
//! path takes a body and binds it, the tree path reads, maps, binds and decides it alike.

use crate::fixture;

/// One evaluation body through both paths of both fixed sets.
pub fn authzen(data: &[u8]) {
    for engine in [fixture::payments(), fixture::plain()] {
        if let Err(e) = writ_server::authzen_text::agreement(engine, data) {
            crate::policy::fail(&e);
        }
    }
}
