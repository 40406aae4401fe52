/* placeholder */ typedef int td_placeholder_server;
