set terminal svg size 900,460 dynamic enhanced font 'Helvetica,13'
set output "plot.svg"
set title "ResNet-20 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:2.5]
set style fill empty
set autoscale y
set xtics ("W1A8" 0, "WtA8" 1, "W2A8" 2)
plot "plot.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 title "DoReFa QAT", \
     "plot.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 title "KD", \
     "plot.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 title "DCQ w/o phase 2", \
     "plot.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 title "DCQ", \
     "plot.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 title "LSQ QAT", \
     "plot.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 title "DCQ + LSQ"
set terminal pngcairo size 900,460 enhanced font 'Helvetica,11'
set output "plot.png"
set title "ResNet-20 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:2.5]
set style fill empty
set autoscale y
set xtics ("W1A8" 0, "WtA8" 1, "W2A8" 2)
plot "plot.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 title "DoReFa QAT", \
     "plot.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 title "KD", \
     "plot.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 title "DCQ w/o phase 2", \
     "plot.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 title "DCQ", \
     "plot.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 title "LSQ QAT", \
     "plot.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 title "DCQ + LSQ"
unset output
