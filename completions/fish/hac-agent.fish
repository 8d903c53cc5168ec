# fish completion for hac-agent(8).
complete -c hac-agent -f
complete -c hac-agent -s h -l help -d 'Print the options and exit'
complete -c hac-agent -s v -l version -d 'Print the version and exit'
complete -c hac-agent -s c -l config -r -F -d 'Config file'
complete -c hac-agent -l socket -r -F -d 'Unix socket to serve the local API on'
complete -c hac-agent -l log-level -x -a 'debug info warning error' -d 'Log level'
complete -c hac-agent -l reload -d 'Check the config, then make the running agent ($MAINPID) reload it'
