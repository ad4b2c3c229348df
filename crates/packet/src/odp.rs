//! Datapath flow text (`dpctl/dump-flows` format): in progress.
