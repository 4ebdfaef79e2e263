"""What every subsystem of the core uses: errors, validated options, atomic files,
writable folders, import paths, eval mode, seeds."""
