//! The fleet watcher against real folders and real inotify events.
//!
//! No test sleeps for a fixed time to wait for something. Each waits for an event with a
//! deadline. To show that a change gave *no* event, a test changes a file of another service
//! (the sentinel) afterwards: the watcher handles events in order and sends names in the
//! order their bursts end, so had the first change counted, its name would arrive before
//! the sentinel's (its burst started earlier, with the same quiet period).

mod support;

mod batching;
mod excluded;
mod folders;
mod idle;
