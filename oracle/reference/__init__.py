"""oracle.reference - the reference side: refsocket.py, the drop-in
recvmsg()/recvmsg_into()/CMSG_LEN()/CMSG_SPACE() over build/libcmsgref.so
(lib.py: the ctypes binding; args.py: CPython's argument rules)."""
