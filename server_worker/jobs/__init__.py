"""Jobs on the worker side: the job folder, the child-process runner, the NWB output.

Everything here runs in the worker's child process (or the worker daemon for the folder
helpers); the broker never imports these modules' sorting code.
"""
