# fish completion for hac-smi(1), with its device commands. Device indexes and sizes come from the
# running agent, when there is one.
function __hac_smi_devices
    hac-smi --query index,sku --format csv,noheader 2>/dev/null | string replace ', ' \t
end

# The catalog's sizes, described by GPUs and memory; read from the JSON, whose layout (one key a
# line) is stable, without jq.
function __hac_smi_sizes
    hac-smi device list --json 2>/dev/null | awk -F'"' '
        /"gpus":/ { g = $3; gsub(/[^0-9]/, "", g) }
        /"memory_gib":/ { m = $3; gsub(/[^0-9]/, "", m) }
        /"name":/ { n = $4 }
        /^ *}/ && n != "" { print n "\t" g " GPUs, " m " GB"; n = "" }'
end

# True when the device command is one of $argv and its argument is still to come.
function __hac_smi_device_arg_for
    __fish_seen_subcommand_from device; or return 1
    set -l seen 0
    for token in (commandline -opc)
        if test $seen = 1
            string match -q -- '-*' $token; or return 1
        else if contains -- $token $argv
            set seen 1
        end
    end
    test $seen = 1
end

set -l verbs list add rm switch
complete -c hac-smi -f
complete -c hac-smi -s h -l help -d 'Print the options and exit'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -s v -l version -d 'Print the version and exit'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -s i -l idx -x -a '(__hac_smi_devices)' -d 'Show only this device'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -s s -l server-version -d 'Print the versions of hac-smi, hac-agent and the allocator'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -s t -l token -d 'Print the fingerprint of the device token'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -s r -l reset -d 'Release the job on the device and its GPUs'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -s p -l physical -d 'Show the physical GPUs the running jobs hold'
complete -c hac-smi -l json -d 'Print JSON'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device; and not __fish_contains_opt -s p physical' -l query -l query-gpu -x -a 'timestamp index id name sku gpus memory.total memory.used utilization current' -d 'Print these device fields as CSV'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device; and __fish_contains_opt -s p physical' -l query -l query-gpu -x -a 'timestamp device job_id location node index uuid name utilization.gpu utilization.memory memory.used memory.total temperature.gpu power.draw sampled_at source' -d 'Print these GPU fields as CSV'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -l format -x -a 'csv csv,noheader csv,nounits csv,noheader,nounits' -d 'CSV format of --query'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -l help-query -d 'List the fields --query takes'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -s l -l loop -x -d 'Repeat every SECONDS'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -l count -x -d 'With --loop: stop after N rounds'
complete -c hac-smi -n 'not __fish_seen_subcommand_from device' -l socket -r -F -d "The agent's socket"

# hac-smi device VERB [ARG]
complete -c hac-smi -n __fish_use_subcommand -a device -d "Manage this VM's devices"
complete -c hac-smi -n "__fish_seen_subcommand_from device; and not __fish_seen_subcommand_from $verbs" -a list -d 'List the sizes a device may be added with'
complete -c hac-smi -n "__fish_seen_subcommand_from device; and not __fish_seen_subcommand_from $verbs" -a add -d 'Add a device of SIZE'
complete -c hac-smi -n "__fish_seen_subcommand_from device; and not __fish_seen_subcommand_from $verbs" -a rm -d 'Remove device N'
complete -c hac-smi -n "__fish_seen_subcommand_from device; and not __fish_seen_subcommand_from $verbs" -a switch -d 'Make device N the current one'
complete -c hac-smi -n '__hac_smi_device_arg_for add' -a '(__hac_smi_sizes)'
# moreh-smi's forms: device --add SIZE, --rm N, --switch N
complete -c hac-smi -n "__fish_seen_subcommand_from device; and not __fish_seen_subcommand_from $verbs" -l add -x -a '(__hac_smi_sizes)' -d 'Add a device of SIZE (moreh-smi form)'
complete -c hac-smi -n "__fish_seen_subcommand_from device; and not __fish_seen_subcommand_from $verbs" -l rm -x -a '(__hac_smi_devices)' -d 'Remove device N (moreh-smi form)'
complete -c hac-smi -n "__fish_seen_subcommand_from device; and not __fish_seen_subcommand_from $verbs" -l switch -x -a '(__hac_smi_devices)' -d 'Make device N the current one (moreh-smi form)'
complete -c hac-smi -n "__fish_seen_subcommand_from device; and not __fish_seen_subcommand_from $verbs" -s y -l yes -d 'With --rm: do not ask for confirmation'
complete -c hac-smi -n '__hac_smi_device_arg_for rm switch' -a '(__hac_smi_devices)'
complete -c hac-smi -n '__fish_seen_subcommand_from device; and __fish_seen_subcommand_from rm' -s y -l yes -d 'Do not ask for confirmation'
