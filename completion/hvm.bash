# bash completion for hvm-run and hvm-oci. `make install` installs it as completions/hvm-run
# and links hvm-oci to it, so that whichever bash-completion loads first defines both.
# tests/completion.sh checks it against each tool's --help.
# bash-completion's helpers when it is installed, plain bash otherwise.
declare -F _hvm_words >/dev/null || _hvm_words()
{
	if declare -F _init_completion >/dev/null; then
		_init_completion -n = && return 0
		return 1
	fi
	words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
}
declare -F _filedir >/dev/null || _filedir()
{
	COMPREPLY=($(compgen $([[ ${1-} == -d ]] && echo -d || echo -f) -- "$cur"))
}

_hvm_run()
{
	local cur prev words cword
	_hvm_words || return
	local flags="--cmd --image --interactive --tty --api-socket --publish --net --ip --gateway
		--dns --mac --env --workdir --user --volume --volume-size --read-only --rm --kernel
		--initrd --append --cpus --memory --timeout --console --no-seccomp --jail --no-jail --uid --gid
		--cold --restore --print-cmdline --metrics-json --log-level --tls-verify --creds
		--authfile --quiet --help --version"
	local i sub=""
	for ((i = 1; i < cword; i++)); do
		[[ ${words[i]} == -- ]] && return	# the guest command: nothing to offer
		case ${words[i]} in exec|snapshot|pull|check) [[ $i -eq 1 ]] && sub=${words[i]} ;; esac
	done
	case $prev in
	--image|--kernel|--initrd|--restore|--metrics-json|--authfile|--volume|-v|--api-socket)
		_filedir; return ;;
	--net) COMPREPLY=($(compgen -W "none user tap" -- "$cur")); return ;;
	--log-level) COMPREPLY=($(compgen -W "error warn info debug" -- "$cur")); return ;;
	--cmd|--env|-e|--workdir|-w|--user|-u|--publish|-p|--ip|--gateway|--dns|--mac|--append|\
	--cpus|--memory|--timeout|--uid|--gid|--volume-size|--creds)
		return ;;
	esac
	if [[ $cur == --tls-verify=* ]]; then
		COMPREPLY=($(compgen -W "true false" -- "${cur#*=}")); return
	fi
	case $sub in
	check) COMPREPLY=($(compgen -W "--json" -- "$cur")); return ;;
	pull) COMPREPLY=($(compgen -W "--tls-verify=false --creds --authfile --quiet" -- "$cur")); return ;;
	snapshot) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--api-socket --stop" -- "$cur")) ||
		_filedir -d; return ;;
	esac
	if [[ $cword -eq 1 && $cur != -* ]]; then
		COMPREPLY=($(compgen -W "exec snapshot pull check" -- "$cur")); return
	fi
	COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}
complete -F _hvm_run hvm-run

_hvm_oci()
{
	local cur prev words cword
	_hvm_words || return
	local cmds="create start run state kill delete pause resume exec list features update events ps"
	local globals="--root --log --log-format --debug --systemd-cgroup --no-jail --uid --gid
		--version --help"
	local i cmd=""
	for ((i = 1; i < cword; i++)); do
		[[ " $cmds " == *" ${words[i]} "* ]] && { cmd=${words[i]}; break; }
	done
	case $prev in
	--root|--bundle|-b|--cwd) _filedir -d; return ;;
	--log|--pid-file|--console-socket|--process|-p) _filedir; return ;;
	--log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
	--format) COMPREPLY=($(compgen -W "table json" -- "$cur")); return ;;
	--uid|--gid|--user|-u|--env|-e|--preserve-fds) return ;;
	esac
	local root=/run/hvm-oci
	for ((i = 1; i < cword; i++)); do [[ ${words[i]} == --root ]] && root=${words[i+1]}; done
	case $cmd in
	"") COMPREPLY=($(compgen -W "$([[ $cur == -* ]] && echo "$globals" || echo "$cmds")" -- "$cur")) ;;
	create|run) COMPREPLY=($(compgen -W "--bundle --pid-file --console-socket --preserve-fds
		--detach" -- "$cur")) ;;
	exec) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--process --detach --tty --pid-file
		--console-socket --cwd --user --env" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(ls "$root" 2>/dev/null)" -- "$cur")) ;;
	kill) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--all" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(ls "$root" 2>/dev/null) $(compgen -A signal)" -- "$cur")) ;;
	update) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--memory --memory-swap --cpu-shares
		--cpu-quota --cpu-period --cpuset-cpus --cpuset-mems --pids-limit --blkio-weight
		--resources" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(ls "$root" 2>/dev/null)" -- "$cur")) ;;
	events) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--stats" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(ls "$root" 2>/dev/null)" -- "$cur")) ;;
	ps) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--format" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(ls "$root" 2>/dev/null)" -- "$cur")) ;;
	list) COMPREPLY=($(compgen -W "--format" -- "$cur")) ;;
	delete) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--force" -- "$cur")) ||
		COMPREPLY=($(compgen -W "$(ls "$root" 2>/dev/null)" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -W "$(ls "$root" 2>/dev/null)" -- "$cur")) ;;
	esac
}
complete -F _hvm_oci hvm-oci
