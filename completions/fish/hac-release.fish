# fish completion for hac-release(1).
complete -c hac-release -f
complete -c hac-release -s h -l help -d 'Print the options and exit'
complete -c hac-release -s v -l version -d 'Print the version and exit'
complete -c hac-release -l key -r -F -d 'Ed25519 private key (PEM) to sign with'
complete -c hac-release -l framework -x -d 'The framework version, e.g. 24.5.0'
complete -c hac-release -l wheels -x -a '(__fish_complete_directories)' -d 'Folder whose *.whl files make the release'
complete -c hac-release -l releases -x -a '(__fish_complete_directories)' -d "The allocator's releases folder"
complete -c hac-release -l min-agent-version -x -d 'The oldest hac-agent the release supports'
complete -c hac-release -l expires-in-days -x -d 'Days until the manifest expires (default 90)'
complete -c hac-release -l expires-at -x -d 'Expiry time, RFC 3339 UTC'
complete -c hac-release -l replace -d 'Sign an existing release again'
