from pulse_archiver.app import main

main()
