//! Hostile conditions around the state folder and the daemon: a folder another user could
//! write, forged records, a socket served by another user, a frozen daemon, connections
//! that never send or send too much, a state folder removed under a running fleet.

mod folder;
mod frozen;
mod messages;
mod removed;

use crate::fleet::{chmod, sleeping_fleet};
