# fish completion for hac-allocator(1).
complete -c hac-allocator -f
complete -c hac-allocator -s h -l help -d 'Print the options and exit'
complete -c hac-allocator -s v -l version -d 'Print the version and exit'
complete -c hac-allocator -s c -l config -r -F -d 'Config file (TOML)'
complete -c hac-allocator -l listen -x -a '127.0.0.1:7070 127.0.0.1:0 0.0.0.0:7070' -d 'HOST:PORT to serve on'
complete -c hac-allocator -l database -r -F -d 'SQLite database'
complete -c hac-allocator -l port-file -r -F -d 'Write the port served on to PATH'
complete -c hac-allocator -l log-level -x -a 'trace debug info warn error off' -d 'Log level'
complete -c hac-allocator -n __fish_use_subcommand -a reconcile -d "Compare Slurm-held allocations with Slurm's record"
complete -c hac-allocator -n '__fish_seen_subcommand_from reconcile' -l since -x -d 'Jobs that ended at or after WHEN'
complete -c hac-allocator -n '__fish_seen_subcommand_from reconcile' -l until -x -d 'Jobs that ended before WHEN'
complete -c hac-allocator -n '__fish_seen_subcommand_from reconcile' -l max-gap -x -d 'Seconds a hold may differ from its job'
complete -c hac-allocator -n '__fish_seen_subcommand_from reconcile' -l jobcomp -r -F -d 'Slurm jobcomp file'
complete -c hac-allocator -n '__fish_seen_subcommand_from reconcile' -l json -d 'Print JSON'
