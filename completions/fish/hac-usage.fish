# fish completion for hac-usage(1).
complete -c hac-usage -f
complete -c hac-usage -s h -l help -d 'Print the options and exit'
complete -c hac-usage -s v -l version -d 'Print the version and exit'
complete -c hac-usage -l since -x -a 'now 24h 7d 30d' -d 'Jobs that started at or after WHEN'
complete -c hac-usage -l until -x -a 'now' -d 'Jobs that started before WHEN'
complete -c hac-usage -l by -x -a 'day week month sku user' -d 'One row per day, week, month, SKU or user'
complete -c hac-usage -l jobs -d 'One row per job'
complete -c hac-usage -l name -x -d 'With --jobs: only the jobs of this name'
complete -c hac-usage -l reason -x -a 'finished process_died reset allocator_failure running' -d 'With --jobs: only the jobs that ended for this reason'
complete -c hac-usage -l user -x -a '(__fish_complete_users)' -d "This user's usage"
complete -c hac-usage -l all-users -d "Everyone's usage"
complete -c hac-usage -l format -x -a 'table csv json' -d 'Table, CSV or JSON'
complete -c hac-usage -l json -d 'The same as --format json'
complete -c hac-usage -l reconcile -d "Compare the job log with the allocator's records"
complete -c hac-usage -l budget -d "This month's budget: limit, spent, remaining, forecast"
complete -c hac-usage -l socket -r -F -d "The agent's socket"
