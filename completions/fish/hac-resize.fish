# fish completion for hac-resize(1). Sizes and device indexes come from the running agent, through
# hac-smi (which answers even when this VM has no device yet).
function __hac_resize_devices
    hac-smi --query index,sku --format csv,noheader 2>/dev/null | string replace ', ' \t
end

# The catalog's sizes, described by GPUs and memory; read from the JSON, whose layout (one key a
# line) is stable, without jq.
function __hac_resize_sizes
    hac-smi device list --json 2>/dev/null | awk -F'"' '
        /"gpus":/ { g = $3; gsub(/[^0-9]/, "", g) }
        /"memory_gib":/ { m = $3; gsub(/[^0-9]/, "", m) }
        /"name":/ { n = $4 }
        /^ *}/ && n != "" { print n "\t" g " GPUs, " m " GB"; n = "" }'
end

complete -c hac-resize -f
complete -c hac-resize -s h -l help -d 'Print the options and exit'
complete -c hac-resize -s v -l version -d 'Print the version and exit'
complete -c hac-resize -s d -l device -x -a '(__hac_resize_devices)' -d 'The device to resize'
complete -c hac-resize -s l -l list -d 'List the sizes, the current one marked'
complete -c hac-resize -l json -d 'Print JSON'
complete -c hac-resize -s y -l yes -d 'Do not ask for confirmation'
# SECONDS only as --wait=SECONDS: a word after a bare --wait would be taken as its value.
complete -c hac-resize -l wait -d 'Wait for the running job to end (--wait=SECONDS: at most that long)'
complete -c hac-resize -l socket -r -F -d "The agent's socket"
complete -c hac-resize -n 'not __fish_contains_opt -s l list' -a '(__hac_resize_sizes)'
