# fish completion for hac-update(1). Release versions are not offered: listing them takes a request
# to the allocator, too slow for a key press when it is far or down.

# The conda environments' names, from where hac-update looks for them, without running conda.
function __hac_update_conda_envs
    set -l roots $CONDA_ROOT $MAMBA_ROOT_PREFIX ~/.conda
    set -q CONDA_EXE; and set -a roots (string replace -r '/bin/[^/]*$' '' -- $CONDA_EXE)
    for root in $roots
        for env in $root/envs/*/
            basename $env
        end
    end
    test -r ~/.conda/environments.txt; and string replace -r '.*/' '' <~/.conda/environments.txt
    echo base
end

complete -c hac-update -f
complete -c hac-update -s h -l help -d 'Print the options and exit'
complete -c hac-update -s v -l version -d 'Print the version and exit'
complete -c hac-update -l prefix -x -a '(__fish_complete_directories)' -d "The environment's folder"
complete -c hac-update -s e -l env -x -a '(__hac_update_conda_envs)' -d 'A conda environment by name'
complete -c hac-update -l check -d 'Exit 0 when the env holds the expected release, 10 when not'
complete -c hac-update -l list -d "List the allocator's releases, verified"
complete -c hac-update -l force -d 'Install the pinned release even when it looks healthy'
complete -c hac-update -l target -x -d 'Install this release instead (e.g. 24.5.0)'
complete -c hac-update -l allow-older -d 'With --target: allow an older release'
complete -c hac-update -l dry-run -d 'Check everything; download and change nothing'
complete -c hac-update -s y -l yes -d 'Upgrade without asking'
complete -c hac-update -l json -d 'Print one JSON document'
complete -c hac-update -l allocator -x -d 'Fetch releases from this allocator URL'
complete -c hac-update -l keys -x -a '(__fish_complete_directories)' -d 'Folder of trusted release keys (*.pem)'
complete -c hac-update -l socket -r -F -d "hac-agent's socket"
