# fish completion for hac-node-report(8).
complete -c hac-node-report -f
complete -c hac-node-report -s h -l help -d 'Print the options and exit'
complete -c hac-node-report -s v -l version -d 'Print the version and exit'
complete -c hac-node-report -l allocator -x -a 'https:// http://127.0.0.1:' -d "The allocator's URL"
complete -c hac-node-report -l token-file -r -F -d 'File holding the node credential (mode 0600)'
complete -c hac-node-report -l node -x -a '(hostname -s)' -d "This node's name at the allocator (default: the short host name)"
complete -c hac-node-report -l interval -x -d 'Seconds between reports (default 5)'
complete -c hac-node-report -l nvidia-smi -r -F -d 'The nvidia-smi to run (default: nvidia-smi in PATH)'
complete -c hac-node-report -l ca-file -r -F -d 'Trust only this CA (PEM) for an https:// allocator'
complete -c hac-node-report -l timeout -x -d 'Seconds each nvidia-smi run and each request may take (default 5)'
complete -c hac-node-report -l once -d 'Report once and exit'
complete -c hac-node-report -l verbose -d 'Log every report and every retry'
