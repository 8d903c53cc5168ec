# fish completion for hac-run(1): its options, then after "--" a command and its arguments.
function __hac_run_devices
    hac-smi --query index,sku --format csv,noheader 2>/dev/null | string replace ', ' \t
end

complete -c hac-run -s h -l help -d 'Print the options and exit'
complete -c hac-run -s v -l version -d 'Print the version and exit'
complete -c hac-run -s d -l device -x -a '(__hac_run_devices)' -d 'Device index'
complete -c hac-run -l no-wait -d 'Fail at once (exit 6) when the device is busy'
complete -c hac-run -s n -l name -x -d 'A name for the job'
complete -c hac-run -s t -l time -x -a '30m 1h 2h 12h 1d' -d 'End the job after this long (90m, 2h, 1d, H:MM:SS)'
complete -c hac-run -l socket -r -F -d "hac-agent's socket"
complete -c hac-run -n '__fish_seen_subcommand_from --' -x -a '(__fish_complete_subcommand --fcs-skip=1)'
