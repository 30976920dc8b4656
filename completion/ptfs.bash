# bash completion for ptfs(1): subcommands, options, -o values, checkpoints and folders.
# Installed as share/bash-completion/completions/ptfs (make install, the Debian package).

_ptfs_mount_opts="map_location= strict follow encoding= gpu_copy= ro rw allow_other allow_root
auto_unmount debug clone_fd max_threads= max_idle_threads= fsname= subtype=
noatime nodev nosuid noexec"

_ptfs()
{
	local cur prev words cword trim=
	if declare -F _init_completion >/dev/null; then
		_init_completion -n =: || return
		trim=1 # readline replaces only what follows the last = or : of cur
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local sub=${words[1]:-}
	if [ "$cword" -eq 1 ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W '-f -d -s -o -h --help -V --version --scan' -- "$cur")
			return
		fi
		mapfile -t COMPREPLY < <(compgen -W 'ls cat info scan convert export diff' -- "$cur")
		_ptfs_files
		return
	fi

	case $sub in
	ls)
		[[ $cur == -* ]] && { mapfile -t COMPREPLY < <(compgen -W '-R' -- "$cur"); return; }
		_ptfs_files
		return ;;
	cat | info | scan | --scan)
		_ptfs_files
		return ;;
	convert)
		if [ "$prev" = -o ]; then
			mapfile -t COMPREPLY < <(compgen -W 'map_location=' -- "$cur")
			_ptfs_trim
			compopt -o nospace 2>/dev/null
			return
		fi
		[[ $cur == -* ]] && { mapfile -t COMPREPLY < <(compgen -W '-o' -- "$cur"); return; }
		_ptfs_files
		return ;;
	diff)
		[[ $cur == -* ]] && { mapfile -t COMPREPLY < <(compgen -W '-q --rtol --atol' -- "$cur"); return; }
		_ptfs_files
		return ;;
	esac

	# ptfs [options] CHECKPOINT MOUNTPOINT
	if [ "$prev" = -o ]; then
		local head=${cur%,*} last=${cur##*,} pre=
		[ "$head" != "$cur" ] && pre="$head,"
		case $last in
		encoding=*)
			mapfile -t COMPREPLY < <(compgen -P "$pre" -W 'encoding=utf-8 encoding=ascii encoding=latin1 encoding=bytes' -- "$last") ;;
		gpu_copy=*)
			mapfile -t COMPREPLY < <(compgen -P "$pre" -W 'gpu_copy=staged gpu_copy=registered' -- "$last") ;;
		map_location=*)
			mapfile -t COMPREPLY < <(compgen -P "$pre" -W 'map_location=cpu map_location=cuda:0 map_location=reset' -- "$last") ;;
		*)
			mapfile -t COMPREPLY < <(compgen -P "$pre" -W "$_ptfs_mount_opts" -- "$last") ;;
		esac
		_ptfs_trim
		compopt -o nospace 2>/dev/null
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W '-f -d -s -o -h --help -V --version' -- "$cur")
		return
	fi
	# the second plain argument is the mount point: folders only
	local i n=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-o) ((i++)) ;;
		-*) ;;
		*) ((n++)) ;;
		esac
	done
	if [ "$n" -ge 1 ]; then
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		compopt -o filenames 2>/dev/null
		return
	fi
	_ptfs_files
}

_ptfs_trim()
{
	[ -n "$trim" ] || return 0
	local pre=${cur%"${cur##*[=:]}"} i
	[ -n "$pre" ] || return 0
	for i in "${!COMPREPLY[@]}"; do
		COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
	done
}

# files and folders (a checkpoint has no fixed suffix: .pt, .pth, .bin, .ckpt, ...)
_ptfs_files()
{
	local IFS=$'\n'
	COMPREPLY+=($(compgen -f -- "$cur"))
	compopt -o filenames 2>/dev/null
}

complete -F _ptfs ptfs
