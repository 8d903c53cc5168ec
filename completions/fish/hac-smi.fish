# fish completion for hac-smi(1). Device indexes come from the running agent, when there is one.
function __hac_smi_devices
    hac-smi --query index,sku --format csv,noheader 2>/dev/null | string replace ', ' \t
end

complete -c hac-smi -f
complete -c hac-smi -s h -l help -d 'Print the options and exit'
complete -c hac-smi -s v -l version -d 'Print the version and exit'
complete -c hac-smi -s i -l idx -x -a '(__hac_smi_devices)' -d 'Show only this device'
complete -c hac-smi -s s -l server-version -d 'Print the versions of hac-smi, hac-agent and the allocator'
complete -c hac-smi -s t -l token -d 'Print the fingerprint of the device token'
complete -c hac-smi -l json -d 'Print JSON'
complete -c hac-smi -l query -l query-gpu -x -a 'timestamp index id name sku gpus memory.total memory.used utilization current' -d 'Print these device fields as CSV'
complete -c hac-smi -l format -x -a 'csv csv,noheader csv,nounits csv,noheader,nounits' -d 'CSV format of --query'
complete -c hac-smi -l help-query -d 'List the fields --query takes'
complete -c hac-smi -s l -l loop -x -d 'Repeat every SECONDS'
complete -c hac-smi -l count -x -d 'With --loop: stop after N rounds'
complete -c hac-smi -l socket -r -F -d "The agent's socket"
