"""The downstream stack: which mmdet/mmseg/... versions, mmengine and mmcv go together.

requirements.py reads what the user asked for, index.py reads what each release declares (from
its real wheel or sdist), resolve.py chooses one consistent set (pure), install.py ties them
together for the command line.
"""
